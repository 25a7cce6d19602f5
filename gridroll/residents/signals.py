"""What the registry tells the layers above it, without importing them (docs/architecture.md).

``registry_changed`` is sent after a bulk change to residents (an import applied, a registration placed or
rejected) with ``resident_ids``: the people changed, or None for "anyone may have". A single resident's
save is Django's own ``post_save``. Sampling listens to both and brings open rounds' rolls in line.
"""

from django.dispatch import Signal

registry_changed = Signal()
