"""Synthetic placed designs (LEF + DEF) for demos and tests: rows, macros, a hotspot, realistic nets."""

from gsr_eda.synth.generator import SyntheticDesign, SyntheticNet, generate_design
from gsr_eda.synth.writer import def_text, write_design

__all__ = ["SyntheticDesign", "SyntheticNet", "def_text", "generate_design", "write_design"]
