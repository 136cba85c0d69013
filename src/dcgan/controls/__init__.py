"""Named controls for generated faces (issue #22): an attribute classifier, attribute directions in z, and the
edits, constrained sampling and breeding built on them (see /work/controls-contract.md)."""
