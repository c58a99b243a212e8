"""Signals the deliberation hall sends for other apps to act on.

``topic_opened`` (kwargs: ``topic``) is sent on commit after every new topic; a topic opened
from a hot-spot or an alert carries ``topic.source_type``/``topic.source_ref``, so that the app
that owns the hot-spot can keep its side of the link without this app importing it.
"""

from django.dispatch import Signal

topic_opened = Signal()
