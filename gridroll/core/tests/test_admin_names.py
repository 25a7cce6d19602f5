"""Issue 18, item 5: the Django admin listed gridroll's apps and models in English inside the Chinese
interface ("Residents", "Import batchs", "Site capacitys")."""

import re

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

# Third-party apps keep their own names (django-axes ships no Chinese).
THIRD_PARTY = {"Axes", "Access attempts", "Access failures", "Access logs"}


def test_the_admin_index_names_gridrolls_apps_and_models_in_chinese(client):
    client.force_login(User.objects.create_superuser("root", password="x"))
    page = client.get("/admin/").content.decode()
    names = {
        re.sub(r"<[^>]+>", "", n).strip()
        for n in re.findall(r"<caption>(.*?)</caption>|<th scope=\"row\"[^>]*>(.*?)</th>", page, re.S)
        for n in n
        if n
    }
    assert "导入批次" in names and "居民登记" in names and "采样点产能" in names
    english = sorted(n for n in names - THIRD_PARTY if re.search(r"[A-Za-z]", n))
    assert english == []
