"""gopolicy.network: the default network, installed as package data (default.safetensors).

This folder is `weights/` in the repository; pyproject.toml maps it to this package so
that the wheel carries the network and gopolicy finds it wherever it is installed.
"""
