"""Recovers a stack after a killed `pulumi up` (docs/day-2.md, "A killed deploy").

A kill leaves the stack locked (file backends) and operations pending: objects made on an engine
that the state never recorded. `recover` clears a lock only its own dead process held, adopts the
objects the program declares, runs again what is safe to run again, and refuses, naming it,
anything it can't take for the stack's own.
"""
