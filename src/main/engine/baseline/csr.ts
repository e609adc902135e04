/** A sparse row matrix (CSR, float64 values) and a builder that grows it row by row. */

export interface CsrMatrix {
  rows: number;
  cols: number;
  /** Row r's entries are [rowPtr[r], rowPtr[r + 1]). */
  rowPtr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

export class CsrBuilder {
  private rowPtr = new Int32Array(1024);
  private indices = new Int32Array(16384);
  private values = new Float64Array(16384);
  private rows = 0;
  private nnz = 0;

  /** Appends one row from (column -> value). */
  addRow(entries: Map<number, number>): void {
    if (this.rows + 2 > this.rowPtr.length) {
      const grown = new Int32Array(this.rowPtr.length * 2);
      grown.set(this.rowPtr);
      this.rowPtr = grown;
    }
    const need = this.nnz + entries.size;
    if (need > this.indices.length) {
      let size = this.indices.length;
      while (size < need) size *= 2;
      const indices = new Int32Array(size);
      indices.set(this.indices.subarray(0, this.nnz));
      this.indices = indices;
      const values = new Float64Array(size);
      values.set(this.values.subarray(0, this.nnz));
      this.values = values;
    }
    for (const [j, v] of entries) {
      this.indices[this.nnz] = j;
      this.values[this.nnz] = v;
      this.nnz++;
    }
    this.rows++;
    this.rowPtr[this.rows] = this.nnz;
  }

  /** The matrix, trimmed to its size (the builder must not be used afterwards). */
  finish(cols: number): CsrMatrix {
    return {
      rows: this.rows,
      cols,
      rowPtr: this.rowPtr.slice(0, this.rows + 1),
      indices: this.indices.slice(0, this.nnz),
      values: this.values.slice(0, this.nnz),
    };
  }
}

/** Bytes held by a matrix's arrays. */
export function csrBytes(m: CsrMatrix): number {
  return m.rowPtr.byteLength + m.indices.byteLength + m.values.byteLength;
}
