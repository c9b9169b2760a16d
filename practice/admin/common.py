"""Small display helpers shared by the practice admin modules."""

from django.utils.text import Truncator


def excerpt(text, words=12):
    return Truncator(text).words(words)
