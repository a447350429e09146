"""The configurator: exact interactive configuration of a template (pure, no I/O)."""

from meshfab.engines.configurator.analysis import template_warnings
from meshfab.engines.configurator.configure import compile_template, configure
from meshfab.engines.configurator.results import (
    Configuration,
    Domain,
    MaterialLine,
    OperationLine,
    Price,
    Violation,
)

__all__ = [
    "Configuration",
    "Domain",
    "MaterialLine",
    "OperationLine",
    "Price",
    "Violation",
    "compile_template",
    "configure",
    "template_warnings",
]
