"""Helpers shared by the practice models."""

from django.db import models
from django.db.models import Q


def in_unit_interval(field):
    return Q(**{f"{field}__gte": 0}) & Q(**{f"{field}__lte": 1})


def choice_check(field, choices, name):
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class ImmutableRecordError(Exception):
    """Raised when code tries to change a record that must never change once written."""
