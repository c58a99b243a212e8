"""Pure-Python analytics kernels: arrays and frames in, dataclasses out.

Nothing in this package imports Django or any urbangov app, and nothing does I/O.
"""
