"""Matrix products of numpy arrays computed by torch, on torch's own thread pool.

numpy's OpenBLAS keeps its worker threads spinning for a while after each product. On a machine with as
many cores as torch has threads, those spinning threads take the cores from the torch convolutions that
follow, and every torch operation in that window waits for a time slice: a 768x512 decode took 0.21 s with
the products in numpy and 0.12-0.13 s with OpenBLAS held to one thread or the products in torch (session
19, 2 cores). Products of integer-valued float64 operands stay exact here as in any BLAS (entropy/hsd.py).
"""
from __future__ import annotations

import numpy as np


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import torch
    return (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()
