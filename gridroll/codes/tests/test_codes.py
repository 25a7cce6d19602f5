"""Issuing, revoking, rotating and checking personal codes."""

import io
import json

import pytest
from django.core.management import call_command

from gridroll.audit.models import AuditRecord
from gridroll.codes import services
from gridroll.codes.models import PersonalCode, SigningKey
from gridroll.conftest import make_user
from gridroll.residents.models import Resident


def test_a_resident_gets_one_code_and_it_checks_valid(resident_a):
    code = services.issue_code(resident_a)
    assert services.issue_code(resident_a) == code  # never a second current code
    result = services.check_code(code.token)
    assert (result.status, result.short_code) == ("valid", code.short_code)
    assert result.person["masked_name"] == "韩*怡"
    assert result.person["household"] == "盛世佳苑 3号楼 2单元 501"
    assert "韩馨怡" not in code.token and resident_a.document_number not in code.token
    assert AuditRecord.objects.filter(action="code.issue", target_id=resident_a.pk).exists()


def test_a_forged_code_is_forged(resident_a):
    code = services.issue_code(resident_a)
    from gridroll.lib import signing

    forged = signing.sign(signing.new_private_key(), 1, code.serial, code.issued_at.date())
    assert services.check_code(forged).as_dict()["status"] == "forged"
    assert services.check_code(forged).reason == "bad_signature"
    assert services.check_code("https://weixin.qq.com/x").reason == "malformed"
    unknown_key = signing.sign(signing.new_private_key(), 99, code.serial, code.issued_at.date())
    assert services.check_code(unknown_key).reason == "unknown_key"


def test_a_revoked_code_says_why_and_a_new_one_works(resident_a, grid_worker):
    old = services.issue_code(resident_a)
    new = services.reissue_code(resident_a, grid_worker, "lost", "手机丢了")
    assert new.token != old.token
    result = services.check_code(old.token)
    assert (result.status, result.reason) == ("revoked", "lost")
    assert "挂失" in result.message
    assert services.check_code(new.token).status == "valid"
    record = AuditRecord.objects.get(action="code.revoke")
    assert (record.actor, record.reason) == (grid_worker, "手机丢了")
    assert record.changes == {"code": [old.short_code, None], "revoked_reason": [None, "lost"]}
    assert [r["serial"] for r in services.revocations_since(None)] == [old.serial]


def test_rotation_keeps_old_codes_valid_and_retirement_reissues_them(resident_a, resident_b):
    old = services.issue_code(resident_a)
    new_key = services.rotate_key()
    assert new_key.key_id == 2
    assert services.check_code(old.token).status == "valid"
    fresh = services.issue_code(resident_b)
    assert fresh.key == new_key
    replaced = services.retire_key(SigningKey.objects.get(key_id=1))
    assert replaced == 1
    result = services.check_code(old.token)
    assert (result.status, result.reason) == ("revoked", "key_retired")
    current = services.current_code(resident_a)
    assert current.key == new_key and services.check_code(current.token).status == "valid"
    with pytest.raises(services.CodeError):
        services.retire_key(new_key)


def test_a_deleted_persons_code_is_revoked_not_forged(resident_a):
    code = services.issue_code(resident_a)
    Resident.objects.filter(pk=resident_a.pk).delete()
    result = services.check_code(code.token)
    assert (result.status, result.reason) == ("revoked", "person_deleted")
    assert PersonalCode.objects.get(pk=code.pk).revoked_reason == "person_deleted"


def test_a_valid_code_outside_the_callers_area_is_unknown_with_masked_details_only(resident_a, outsider):
    code = services.issue_code(resident_a)
    result = services.check_code(code.token, outsider)
    assert (result.status, result.reason) == ("unknown", "out_of_area")
    assert result.person["masked_name"] == "韩*怡"
    assert "household" not in result.person and "resident_id" not in result.person


def test_a_code_unknown_to_this_server_is_unknown(resident_a):
    from gridroll.lib import signing

    key = services.active_key()
    token = signing.sign(bytes(key.private_key), key.key_id, 7, resident_a.created_at.date())
    assert services.check_code(token).as_dict()["status"] == "unknown"


def test_bulk_issue_gives_everyone_exactly_one_code(tree, resident_a, resident_b):
    assert services.issue_codes(Resident.objects.all()) == 2
    assert services.issue_codes(Resident.objects.all()) == 0
    assert PersonalCode.objects.filter(revoked_at__isnull=True).count() == 2
    assert len({c.short_code for c in PersonalCode.objects.all()}) == 2


# API ------------------------------------------------------------------------------------------------


def test_the_check_api_for_a_sampler(tree, sampler, resident_a, login):
    code = services.issue_code(resident_a)
    client = login(sampler)
    data = client.post("/api/codes/check", {"text": code.token}, content_type="application/json").json()
    assert data["status"] == "valid"
    assert data["person"]["household"] == "盛世佳苑 3号楼 2单元 501"
    raw = client.post(
        "/api/codes/check", {"text": code.token}, content_type="application/json"
    ).content.decode()
    assert "韩*怡" in raw  # Chinese unescaped


def test_the_check_api_for_an_outsider_reveals_no_address(tree, outsider, resident_a, login):
    code = services.issue_code(resident_a)
    data = (
        login(outsider).post("/api/codes/check", {"text": code.token}, content_type="application/json").json()
    )
    assert data["status"] == "unknown"
    assert data["person"]["household"] is None and data["person"]["resident_id"] is None


def test_lab_staff_and_anonymous_users_cannot_check_codes(tree, resident_a, login, client):
    code = services.issue_code(resident_a)
    assert (
        client.post("/api/codes/check", {"text": code.token}, content_type="application/json").status_code
        == 401
    )
    lab = make_user("lab", "lab_staff", tree["district"])
    assert (
        login(lab).post("/api/codes/check", {"text": code.token}, content_type="application/json").status_code
        == 403
    )


def test_scanners_sync_keys_and_revocations(tree, sampler, resident_a, login):
    services.issue_code(resident_a)
    services.reissue_code(resident_a, None, "wrong_person")
    client = login(sampler)
    keys = client.get("/api/codes/keys").json()
    assert keys[0]["key_id"] == 1 and len(keys[0]["public_key"]) == 44
    revoked = client.get("/api/codes/revocations").json()
    assert [r["reason"] for r in revoked] == ["wrong_person"]


# Commands -------------------------------------------------------------------------------------------


def test_check_code_prints_json(resident_a):
    code = services.issue_code(resident_a)
    out = io.StringIO()
    call_command("check_code", code.token, stdout=out)
    assert json.loads(out.getvalue())["status"] == "valid"
    out = io.StringIO()
    call_command("check_code", "not a code", stdout=out)
    assert json.loads(out.getvalue())["status"] == "forged"


def test_rotate_keys_command(resident_a):
    services.issue_code(resident_a)
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    call_command("rotate_keys", "--retire", "1", stdout=out)
    assert "1 codes re-issued" in out.getvalue()


def test_issue_codes_writes_a_card_sheet(tree, resident_a, resident_b, tmp_path):
    try:
        import weasyprint  # noqa: F401 - without the system's pango it raises OSError, not ImportError
    except (ImportError, OSError) as exc:
        pytest.skip(
            f"PDF cards need WeasyPrint and the pango library (apt-get install libpango-1.0-0): {exc}"
        )
    out = io.StringIO()
    call_command("issue_codes", "--area", "测试社区", "--pdf", str(tmp_path / "cards.pdf"), stdout=out)
    assert "2 codes issued" in out.getvalue() and "2 cards on 1 pages" in out.getvalue()
    assert (tmp_path / "cards.pdf").read_bytes().startswith(b"%PDF")
    out = io.StringIO()
    call_command("issue_codes", "--area", "第一网格", stdout=out)
    assert "0 codes issued" in out.getvalue()


def test_check_code_takes_a_short_code_as_typed(resident_a, grid_worker):
    """Issue 18, item 14: short codes exist to be read aloud and typed; check_code called them malformed."""
    code = services.issue_code(resident_a)
    for typed in (code.short_code, code.short_code.lower(), code.short_code.replace("-", " ")):
        result = services.check_code(typed)
        assert (result.status, result.short_code) == ("valid", code.short_code), typed
        assert result.person["masked_name"] == "韩*怡"
    # A typo is caught by the check character and said so, not called "not ours".
    body = code.short_code.replace("-", "")
    typo = body[:3] + ("A" if body[3] != "A" else "B") + body[4:]
    assert services.check_code(typo).reason in ("short_code_typo", "not_issued_here")
    wrong_check = body[:7] + next(c for c in "ABCDEFGH" if c != body[7])
    assert services.check_code(wrong_check).reason == "short_code_typo"
    # A revoked code's short code is revoked too; the command line answers the same.
    services.reissue_code(resident_a, grid_worker, "lost", "手机丢了")
    assert services.check_code(code.short_code).status == "revoked"
    out = io.StringIO()
    call_command("check_code", code.short_code, stdout=out)
    assert json.loads(out.getvalue())["reason"] == "lost"
