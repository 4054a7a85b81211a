"""Pedalboard plugin host: the separator as an effect in audio chains (DESIGN.md §6)."""
