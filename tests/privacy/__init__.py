"""Tests of apoa/privacy (UU PDP 27/2022)."""
