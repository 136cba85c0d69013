"""Dataset tooling: downloads (CelebA, MNIST, LSUN), ImageNet subsets, a face builder and a listing.

Every module here imports its heavy dependencies (TensorFlow via mtcnn, lmdb, imagehash) lazily, inside
the functions that need them, so `dcgan --help` stays fast. The commands are registered by
`dcgan.cli.data`.
"""

from __future__ import annotations
