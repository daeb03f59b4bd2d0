"""`jpegai-inspect`: a Textual terminal browser over the one syntax tree of `jpegai_fmt`."""
