"""Issue 18, item 12: samplers and lab staff were offered a resident search that always found nothing,
and a home page that promised pages "to come"."""

from gridroll.conftest import make_user


def test_samplers_and_lab_staff_get_no_resident_search(client, tree, sampler):
    lab = make_user("lab_a", "lab_staff", tree["district"])
    for user in (sampler, lab):
        client.force_login(user)
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert 'name="q"' not in page, user.username
        assert "随相应功能提供" not in page
    client.force_login(sampler)
    assert "/scan/" in client.get("/").content.decode()


def test_a_grid_worker_keeps_the_search_box(client, grid_worker):
    client.force_login(grid_worker)
    page = client.get("/").content.decode()
    assert page.count('name="q"') == 2  # the header's and the home page's


def test_every_link_on_a_home_page_opens(client, tree, sampler, grid_worker):
    """Issue 18, item 4: the sampler's and the lab's area tiles linked to /areas/3/ and /areas/1/ (404)."""
    import re

    lab = make_user("lab_a", "lab_staff", tree["district"])
    for user in (sampler, lab, grid_worker):
        client.force_login(user)
        page = client.get("/").content.decode()
        links = {h for h in re.findall(r'<a [^>]*href="(/[^"]*)"', page) if h != "/"}
        assert links, user.username
        for href in links:
            assert client.get(href).status_code == 200, (user.username, href)
        assert tree["grid_a"].name in page or tree["district"].name in page  # the tile is still there
    client.force_login(grid_worker)
    assert f'href="/areas/{tree["grid_a"].pk}/"' in client.get("/").content.decode()
