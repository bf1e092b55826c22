"""Evals of the agent: cases it should get right, run with `python -m evals` (`make eval`).

`cases.py` holds the dataset (add your cases there), `running.py` runs the agent on each
case, offline on a scripted model or on a real one, and `evaluators.py` holds the checks
that are this project's own.
"""
