"""Declares the C extension only; all package metadata lives in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("codec.entropy._metans", ["codec/entropy/_metans.c"])])
