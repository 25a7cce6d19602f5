"""The consistency checker finds what an incident left wrong, and repairs it (audited)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridroll.audit.models import AuditRecord
from gridroll.rollcall.models import Entry, Tally
from gridroll.rollcall.services import check_round
from gridroll.sampling.services import record_action
from gridroll.sampling.tests.conftest import code_of


def test_a_consistent_round_is_reported_so(roll, sampler, act, people, capsys):
    record_action(sampler, act("open_tube"))
    record_action(sampler, act("add", code=code_of(people[0])))
    assert check_round(roll) == {"entries": [], "tallies": [], "hours": [], "repaired": False}
    call_command("check_rollcall", "--round", str(roll.pk))
    assert "consistent" in capsys.readouterr().out


def test_wrong_entries_and_tallies_are_found_and_repaired(roll, sampler, act, people, capsys):
    record_action(sampler, act("open_tube"))
    record_action(sampler, act("add", code=code_of(people[0])))
    # What the race left behind: a person sampled but marked missing, and a tally that agrees with it.
    Entry.objects.filter(resident=people[0]).update(state="missing")
    Entry.objects.filter(resident=people[1]).update(state="negative")
    tally = Tally.objects.get(round=roll)
    Tally.objects.filter(pk=tally.pk).update(missing=tally.missing + 5)
    found = check_round(roll)
    assert [(r, s, d) for r, s, d in found["entries"]] == [
        (people[0].pk, "missing", "sampled"),
        (people[1].pk, "negative", "missing"),
    ]
    assert len(found["tallies"]) == 1
    with pytest.raises(CommandError):
        call_command("check_rollcall", "--round", str(roll.pk))
    call_command("check_rollcall", "--round", str(roll.pk), "--repair")
    assert "repaired" in capsys.readouterr().out
    assert check_round(roll) == {"entries": [], "tallies": [], "hours": [], "repaired": False}
    assert Entry.objects.get(resident=people[0]).state == "sampled"
    assert AuditRecord.objects.filter(action="rollcall.repair").count() == 1
