from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridroll.core.errors import DomainError
from gridroll.lib.address import building_label, household_label


class Level(models.TextChoices):
    DISTRICT = "district", _("District")
    SUBDISTRICT = "subdistrict", _("Subdistrict")
    TOWN = "town", _("Town")
    COMMUNITY = "community", _("Community")
    VILLAGE = "village", _("Village")
    GRID = "grid", _("Grid")


# Depth of each level in the tree; a child is always deeper than its parent.
LEVEL_RANK = {
    Level.DISTRICT: 0,
    Level.SUBDISTRICT: 1,
    Level.TOWN: 1,
    Level.COMMUNITY: 2,
    Level.VILLAGE: 2,
    Level.GRID: 3,
}


class AreaError(DomainError):
    """A refused change to the area tree, with a stable code."""

    MESSAGES = {
        "area_cycle": _("An area cannot be placed under itself or one of its own areas."),
        "area_level": _(
            "A %(level)s cannot be placed under a %(parent)s: the parent must be a higher level."
        ),
        "area_move": _("Move an area with areas.services.move_area."),
        "reason_required": _("Give a reason."),
    }


class AreaQuerySet(models.QuerySet["Area"]):
    def restrict(self, user, action: str = "view_registry") -> AreaQuerySet:
        """Areas the user may act on: those granted and everything below them."""
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "path"))


class Area(models.Model):
    """A node of the area tree: district → subdistrict/town → community/village → grid.

    Membership rule: a resident belongs to their household's grid and to every ancestor of it. ``path``
    is the chain of primary keys from the root ('/1/7/42/'), so "everything under X" is a prefix match
    that an index answers. Names are unique among siblings (and among roots).
    """

    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = pgettext_lazy("admin", "areas")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="area_name_unique_in_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(parent__isnull=True), name="area_root_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]

    @property
    def is_grid(self) -> bool:
        return self.level == Level.GRID

    def check_parent(self, parent: Area | None) -> None:
        """Refuse a parent that would make a cycle or sit at this area's level or below (AreaError)."""
        if parent is None:
            return
        if self.pk is not None and (parent.pk == self.pk or parent.path.startswith(self.path or "\0")):
            raise AreaError("area_cycle")
        if LEVEL_RANK[parent.level] >= LEVEL_RANK[self.level]:
            raise AreaError("area_level", level=self.get_level_display(), parent=parent.get_level_display())

    def save(self, *args, **kwargs) -> None:
        """Write the area and its path. A new parent for an existing area is not taken here: the path of
        every area below it would go stale (areas.services.move_area rewrites them in one transaction)."""
        if self.pk is not None and self.path:
            old_parent = Area.objects.filter(pk=self.pk).values_list("parent_id", flat=True).first()
            if old_parent != self.parent_id:
                raise AreaError("area_move")
        self.check_parent(self.parent)
        # The path needs our own primary key, so a new area is written twice.
        super().save(*args, **kwargs)
        expected = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if self.path != expected:
            self.path = expected
            Area.objects.filter(pk=self.pk).update(path=expected)

    def ancestors(self) -> list[Area]:
        ids = [int(p) for p in self.path.strip("/").split("/")[:-1] if p]
        by_id = Area.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]

    def full_name(self) -> str:
        return " / ".join([a.name for a in self.ancestors()] + [self.name])


class BuildingQuerySet(models.QuerySet["Building"]):
    def restrict(self, user, action: str = "view_registry") -> BuildingQuerySet:
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "grid__path"))


class Building(models.Model):
    """A building (楼栋) in a grid, optionally inside a compound (小区). ``number`` is the key people
    mean whichever way they write it (3号楼 = 3栋 = 3# = 三号楼 → '3'); ``compound_key`` drops a
    trailing 小区 so that 盛世佳苑 and 盛世佳苑小区 are one compound."""

    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("grid"))
    compound = models.CharField(_("compound"), max_length=100, blank=True)
    compound_key = models.CharField(max_length=100, blank=True, editable=False)
    number = models.CharField(_("building"), max_length=30)

    objects = BuildingQuerySet.as_manager()

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["compound_key", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "compound_key", "number"], name="building_unique_in_grid"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.compound, building_label(self.number)) if p)

    def save(self, *args, **kwargs) -> None:
        from gridroll.lib.address import compound_key

        self.compound_key = compound_key(self.compound)
        super().save(*args, **kwargs)


class HouseholdQuerySet(models.QuerySet["Household"]):
    def restrict(self, user, action: str = "view_registry") -> HouseholdQuerySet:
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "building__grid__path"))


class Household(models.Model):
    """A household (户): one entrance and room of a building. Every resident belongs to exactly one."""

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="households", verbose_name=_("building")
    )
    entrance = models.CharField(_("entrance"), max_length=20, blank=True)
    room = models.CharField(_("room"), max_length=30)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["building", "entrance", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "entrance", "room"], name="household_unique_in_building"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        b = self.building
        return household_label(b.compound, b.number, self.entrance, self.room)

    @property
    def sort_key(self) -> tuple:
        """The order people walk a compound: 4号楼 before 10号楼, 2单元 before 10单元 (natural, not text)."""
        from gridroll.lib.text import natural_key

        b = self.building
        return (b.compound_key, natural_key(b.number), natural_key(self.entrance), natural_key(self.room))
