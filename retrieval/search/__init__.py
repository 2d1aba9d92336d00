"""Search over a store's chunks: exact vector search (numpy), keyword search (per database), fusion."""
