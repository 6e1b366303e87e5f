"""Images: decoding, scaling, half-blocks, downloads written to disk."""
