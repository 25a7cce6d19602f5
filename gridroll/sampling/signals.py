"""What a scan tells the layers above sampling, without importing them (docs/architecture.md).

The retest tasks belong to the labs, which sit above sampling. When the general (Python) scan path takes
a sample from someone with an open task, or takes a sample back, it sends these; the labs' receivers
(``LabsConfig.ready``) mark the tasks. The PL/pgSQL fast path updates the same rows itself, in SQL, and
``tests/test_fast_path_parity.py`` checks that both paths leave the same tasks.

- ``retests_sampled``: ``samples`` = [(round id, resident id, tube capacity), ...]
- ``samples_taken_back``: ``round_id``, ``resident_ids``
"""

from django.dispatch import Signal

retests_sampled = Signal()
samples_taken_back = Signal()
