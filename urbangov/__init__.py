"""urbangov: an open-source platform on which a city runs its digital governance."""

__version__ = "0.1.0"
