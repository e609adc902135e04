// Every test file: tfjs in production mode (no debug checks and no "install tfjs-node" banner on
// stderr), as the app itself runs it (src/main/engine/tf.ts).
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
