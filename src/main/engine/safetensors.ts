/**
 * The safetensors format lives in src/main/hf/safetensors.ts (the Hugging Face formats room). This
 * re-export only keeps engine/save.ts and engine/checkpoint.ts compiling until their owner points
 * them at ../hf/safetensors; delete it then.
 */
export * from '../hf/safetensors';
