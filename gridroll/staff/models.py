"""Staff and volunteers of a round (issue 19, part 6): the register, teams sent from one unit to another
area, shifts per site and role, their assignment, call-ups (集合) and check-ins at the site.

A staff member is seen by those who may plan rounds in their home area, or in the area their team is
sent to (``StaffQuerySet.restrict``). Shifts, check-ins and the board are seen through their site's area.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Skill(models.TextChoices):
    SAMPLER = "sampler", _("Sampler")
    SCANNER = "scanner", _("Scanning and guiding (扫码引导)")
    ENTRY = "entry", _("Information entry (信息录入)")
    GUIDE = "guide", _("Guide")
    CONSULT = "consult", _("On-site questions (现场咨询)")
    ORDER = "order", _("Keeping order (秩序维护)")
    DRIVER = "driver", _("Driver and transport")


def _either_area(user, action: str, home: str, destination: str) -> Q:
    from gridroll.accounts.scope import path_filter

    return path_filter(user, action, home) | path_filter(user, action, destination)


class TeamQuerySet(models.QuerySet["Team"]):
    def restrict(self, user, action: str = "plan_rounds") -> TeamQuerySet:
        return self.filter(_either_area(user, action, "home_area__path", "destination__path"))


class Team(models.Model):
    """A team sent from one unit to another area, e.g. 梁水镇's cadres and clinic staff to 古楼街道."""

    name = models.CharField(_("name"), max_length=100)
    home_area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("sent by")
    )
    destination = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("sent to")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["home_area", "name"], name="team_name_unique_in_area")]

    def __str__(self) -> str:
        return self.name


class StaffQuerySet(models.QuerySet["StaffMember"]):
    def restrict(self, user, action: str = "plan_rounds") -> StaffQuerySet:
        return self.filter(_either_area(user, action, "home_area__path", "team__destination__path"))


class StaffMember(models.Model):
    """One person of the register. ``home_unit`` is the unit as people name it (侯营镇机关, 镇卫生院, a
    community, 公益岗); ``home_area`` the area it belongs to. Never deleted once they had a shift:
    ``is_active`` off takes them out of new assignments."""

    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)
    home_unit = models.CharField(_("home unit"), max_length=100)
    home_area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("home area")
    )
    skills = models.JSONField(_("skills"), default=list)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("team")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_member",
        verbose_name=_("account"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StaffQuerySet.as_manager()

    class Meta:
        ordering = ["home_area__path", "name"]
        constraints = [models.UniqueConstraint(fields=["phone"], name="staff_phone_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def base_area(self):
        """Where they may be sent: their team's destination, or else their home area."""
        return self.team.destination if self.team_id else self.home_area

    def skill_labels(self) -> list[str]:
        labels = dict(Skill.choices)
        return [str(labels[s]) for s in self.skills if s in labels]


class StaffImportQuerySet(models.QuerySet["StaffImport"]):
    def restrict(self, user, action: str = "plan_rounds") -> StaffImportQuerySet:
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "area__path"))


class StaffImport(models.Model):
    """An uploaded staff table: previewed first, applied on request. Rejected rows are kept with their
    reason (``rejects``: [{"row", "cells", "reason"}]); ``rows`` holds the accepted rows until applied."""

    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=200)
    rows = models.JSONField(default=list)
    rejects = models.JSONField(default=list)
    applied_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StaffImportQuerySet.as_manager()

    def __str__(self) -> str:
        return self.filename


class ShiftQuerySet(models.QuerySet["Shift"]):
    def restrict(self, user, action: str = "plan_rounds") -> ShiftQuerySet:
        from gridroll.accounts.scope import path_filter

        return self.filter(path_filter(user, action, "site__area__path"))


class Shift(models.Model):
    """A shift of one role at one site in a round, with how many people it needs (from the site's
    stations and the plan's expected flow; services.shift_needs)."""

    round = models.ForeignKey("sampling.Round", on_delete=models.CASCADE, related_name="shifts")
    site = models.ForeignKey("sampling.Site", on_delete=models.CASCADE, related_name="shifts")
    role = models.CharField(_("role"), max_length=20, choices=Skill.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    needed = models.PositiveSmallIntegerField(default=1)
    # The flow it was sized for (people expected at the site during the shift).
    expected_people = models.PositiveIntegerField(default=0)

    objects = ShiftQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "site_id", "role"]
        constraints = [
            models.UniqueConstraint(fields=["round", "site", "role", "starts_at"], name="shift_unique")
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.get_role_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class Assignment(models.Model):
    """A person on a shift. A sampler's assignment carries the site access it gives their account for
    the shift's window (``grant``, made and removed with the assignment)."""

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="assignments")
    grant = models.OneToOneField(
        "accounts.Grant", on_delete=models.SET_NULL, null=True, blank=True, related_name="assignment"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shift", "member"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.member} @ {self.shift}"


class CallUp(models.Model):
    """A call-up (集合) of a team: where and when to gather. Each member gets an SMS and sees it on their
    own page; ``CallUpReply`` records who acknowledged."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="callups")
    text = models.CharField(_("message"), max_length=300)
    place = models.CharField(_("where"), max_length=100)
    gather_at = models.DateTimeField(_("when"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.team} {self.gather_at:%m-%d %H:%M}"


class CallUpReply(models.Model):
    callup = models.ForeignKey(CallUp, on_delete=models.CASCADE, related_name="replies")
    member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="callup_replies")
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["callup", "member"], name="callup_reply_unique")]

    def __str__(self) -> str:
        return f"{self.member} {self.callup}"


class CheckIn(models.Model):
    """A staff member checked in at a site by scanning its site code with their own account."""

    member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="checkins")
    site = models.ForeignKey("sampling.Site", on_delete=models.CASCADE, related_name="+")
    shift = models.ForeignKey(Shift, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.member} @ {self.site} {self.at:%H:%M}"
