"""Bring a docker-compose file as it is: `ComposeProject` declares it as Docker resources.

The file is interpolated, checked against the Compose Specification's JSON schema (vendored in schema/)
and typed (`model.load_project`); keys that are valid Compose but not declared here are reported by name
and line, never dropped.
"""
from components.compose_project.model import Project, load_project
from components.compose_project.project import ComposeProject, ComposeProjectArgs
from components.compose_project.source import ComposeFileError

__all__ = ["ComposeProject", "ComposeProjectArgs", "ComposeFileError", "Project", "load_project"]
