"""Rules every workflow keeps, checked over all of them so that a new one cannot miss them."""

import importlib
import inspect
import pkgutil
from typing import get_type_hints

import lunchtogether.workflows
from lunchtogether.schemas.base import InputModel


def _workflows() -> list[type]:
    modules = pkgutil.walk_packages(lunchtogether.workflows.__path__, f"{lunchtogether.workflows.__name__}.")
    return [
        cls
        for module in (importlib.import_module(info.name) for info in modules)
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if name.endswith("Workflow") and cls.__module__ == module.__name__
    ]


def test_every_workflow_input_is_an_input_model():
    """Strict and frozen alike: no workflow coerces what its caller passed, or changes it."""
    inputs = {cls.__name__: get_type_hints(cls.__dict__["execute"])["data"] for cls in _workflows()}

    assert {"LoginWorkflow", "ListUsersWorkflow"} <= inputs.keys()  # the walk finds them
    assert {name for name, data in inputs.items() if not issubclass(data, InputModel)} == set()
