"""The learned codec backend: networks, entropy layer, encode/decode."""
