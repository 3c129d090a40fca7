"""Baseline `dense`: no dropout; the trained net ships as it is."""

from .base import Method


class Dense(Method):
    name = "dense"
    summary = "baseline: plain training, no dropout"
