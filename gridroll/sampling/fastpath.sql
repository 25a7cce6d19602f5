-- One person added to a tube, decided and written in one round trip (PostgreSQL only).
--
-- The same rules as sampling.services._add/_write/_update_rollcall, for the commonest action: one "add"
-- by code or by resident id, after the Python side has checked the site, the round and the scanner's
-- scope (all in memory). Everything else, and every retry, goes the general way.
-- A code is taken as genuine here only when its text is exactly the token this server stored when it
-- issued it (this server signed those bytes); any other text returns NULL having written nothing, and
-- the general way checks its signature and decides.
-- A nonce seen before fails on a unique index and rolls the whole call back: the caller then answers
-- with the stored result. tests: sampling/tests (they run through here on PostgreSQL).
-- Installed by the migration that carries this text frozen in it (sampling/0015 today): a change here
-- needs a new migration with the new text (tests/test_fast_path.py compares the installed function, the
-- latest migration's text and this file). Each installing migration drops every earlier version first,
-- whatever its arguments were.
CREATE FUNCTION gridroll_scan_add(
    p_nonce text, p_device text, p_user int, p_round int, p_site int, p_barcode text,
    p_token text, p_resident int, p_payload jsonb, p_device_time timestamptz, p_offline boolean,
    p_now timestamptz, p_today date, p_sex jsonb, p_messages jsonb
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    t sampling_tube%ROWTYPE;
    v_code record;
    v_res record;
    v_resident int := p_resident;
    v_held int[];
    v_state text;
    v_exempt text;
    v_building int;
    v_grid int;
    v_reason text := 'ok';
    v_result text := 'accepted';
    v_person jsonb := '{}'::jsonb;
    v_tube jsonb := '{}'::jsonb;
    v_repeat boolean := false;
BEGIN
    SELECT * INTO t FROM sampling_tube WHERE barcode = p_barcode FOR UPDATE;
    IF NOT FOUND OR t.round_id <> p_round OR t.site_id <> p_site THEN
        v_reason := 'tube_not_open';
    ELSIF t.size >= t.capacity THEN
        v_reason := 'tube_full';
    ELSIF t.status <> 'open' THEN
        v_reason := 'tube_not_open';
    END IF;

    IF v_reason = 'ok' AND p_token IS NOT NULL THEN
        SELECT c.resident_id, c.revoked_at, k.state INTO v_code FROM codes_personalcode c
            JOIN codes_signingkey k ON k.id = c.key_id WHERE c.token = p_token;
        IF NOT FOUND THEN
            RETURN NULL;  -- not a stored token: the general way checks the signature
        ELSIF v_code.state = 'retired' OR v_code.resident_id IS NULL OR v_code.revoked_at IS NOT NULL THEN
            v_reason := 'code_revoked';
        ELSE
            v_resident := v_code.resident_id;
        END IF;
    END IF;

    IF v_reason = 'ok' THEN
        SELECT id, name, sex, birth_date, household_id INTO v_res FROM residents_resident WHERE id = v_resident;
        IF NOT FOUND THEN
            v_reason := 'person_unknown';
        END IF;
    END IF;

    IF v_reason = 'ok' THEN
        v_person := jsonb_build_object(
            'masked_name', CASE
                WHEN char_length(v_res.name) <= 1 THEN v_res.name
                WHEN char_length(v_res.name) = 2 THEN left(v_res.name, 1) || '*'
                ELSE left(v_res.name, 1) || repeat('*', char_length(v_res.name) - 2) || right(v_res.name, 1)
            END,
            'age', CASE WHEN v_res.birth_date IS NULL THEN NULL
                ELSE date_part('year', age(p_today, v_res.birth_date))::int END,
            'sex', coalesce(p_sex ->> v_res.sex, ''));
        -- The person's roll-call entry is locked before their samples are read, and each statement of
        -- this (volatile) function sees what was committed before it began: an undo of this person on
        -- another lane has either committed (and is seen) or waits for us (rollcall.services.lock_entries).
        SELECT state, exemption, building_id, grid_id INTO v_state, v_exempt, v_building, v_grid
            FROM rollcall_entry WHERE round_id = p_round AND resident_id = v_res.id FOR UPDATE;
        SELECT array_agg(tube_id) INTO v_held FROM sampling_sample
            WHERE round_id = p_round AND resident_id = v_res.id AND NOT is_removed;
        IF t.id = ANY(coalesce(v_held, '{}')) THEN
            v_reason := 'already_in_tube';
        ELSIF t.capacity > 1 AND v_state IN ('pool_positive', 'positive') THEN
            v_reason := 'retest_needs_single';
        ELSIF t.pool_mode = 'household' AND t.household_id IS NOT NULL
                AND v_res.household_id IS DISTINCT FROM t.household_id THEN
            v_reason := 'other_household';
        END IF;
    END IF;

    IF v_reason = 'ok' THEN
        v_repeat := coalesce(array_length(v_held, 1), 0) > 0;
        IF t.pool_mode = 'household' AND t.household_id IS NULL THEN
            t.household_id := v_res.household_id;
        END IF;
        t.size := t.size + 1;
        IF t.size >= t.capacity AND t.pool_mode <> 'household' THEN
            t.status := 'sealed';
            t.sealed_at := p_device_time;
        END IF;
        INSERT INTO sampling_sample (tube_id, round_id, resident_id, position, scanned_at, received_at, nonce,
                                     is_repeat, is_removed, decided_offline)
            VALUES (t.id, p_round, v_res.id, t.size, p_device_time, p_now, p_nonce, v_repeat, false, p_offline);
        UPDATE sampling_tube SET size = t.size, status = t.status, sealed_at = t.sealed_at,
                                 household_id = t.household_id WHERE id = t.id;
        IF v_state IN ('missing', 'exempt') THEN
            -- As rollcall.services.mark_sampled: the exemption column tells the old state.
            UPDATE rollcall_entry SET state = 'sampled', updated_at = p_now
                WHERE round_id = p_round AND resident_id = v_res.id AND state IN ('missing', 'exempt')
                RETURNING building_id, exemption INTO v_building, v_exempt;
            IF FOUND THEN
                IF v_exempt <> '' THEN
                    UPDATE rollcall_tally SET exempt = exempt - 1, sampled = sampled + 1, updated_at = p_now
                        WHERE round_id = p_round AND building_id = v_building;
                ELSE
                    UPDATE rollcall_tally SET missing = missing - 1, sampled = sampled + 1, updated_at = p_now
                        WHERE round_id = p_round AND building_id = v_building;
                END IF;
            END IF;
        ELSIF v_state IN ('pool_positive', 'invalid', 'positive') THEN
            -- As labs.services.tasks_sampled: a retest counts in a single tube, a re-sample in any.
            UPDATE labs_retesttask SET status = 'sampled', sampled_at = p_now
                WHERE round_id = p_round AND resident_id = v_res.id AND status = 'open'
                AND (kind = 'resample' OR t.capacity = 1);
        END IF;
        -- As sampling.services._write_tallies, after the roll call's tally (the same order of locks):
        -- the hour's first samples of the person's grid, and the site's live samples.
        IF NOT v_repeat AND v_grid IS NOT NULL THEN
            INSERT INTO rollcall_hourtally (round_id, grid_id, hour, sampled)
                VALUES (p_round, v_grid, date_trunc('hour', p_device_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 1)
                ON CONFLICT (round_id, grid_id, hour) DO UPDATE SET sampled = rollcall_hourtally.sampled + 1;
        END IF;
        INSERT INTO sampling_sitetally (round_id, site_id, samples) VALUES (p_round, p_site, 1)
            ON CONFLICT (round_id, site_id) DO UPDATE SET samples = sampling_sitetally.samples + 1;
        IF v_repeat AND coalesce(v_state, '') NOT IN ('pool_positive', 'invalid', 'positive') THEN
            v_reason := 'already_sampled';
            v_result := 'warned';
        END IF;
    ELSE
        v_result := 'refused';
    END IF;

    IF t.id IS NOT NULL THEN
        v_tube := jsonb_build_object('barcode', t.barcode, 'size', t.size, 'capacity', t.capacity,
                                     'status', t.status, 'pool_mode', t.pool_mode);
    END IF;
    INSERT INTO sampling_scanaction (nonce, device_id, user_id, kind, round_id, site_id, tube_barcode, payload,
                                     device_time, received_at, decided_offline, result, reason, message,
                                     needs_review)
        VALUES (p_nonce, p_device, p_user, 'add', p_round, p_site, left(p_barcode, 40),
                p_payload || jsonb_build_object('_tube', v_tube, '_person', v_person),
                p_device_time, p_now, p_offline, v_result, v_reason, coalesce(p_messages ->> v_reason, ''),
                v_result = 'refused' AND p_offline);
    -- As sampling.services.add_scan_minutes, after the action: the site's adds in the minute it arrived.
    IF v_result <> 'refused' THEN
        INSERT INTO sampling_scanminute (round_id, site_id, minute, scans)
            VALUES (p_round, p_site, date_trunc('minute', p_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 1)
            ON CONFLICT (round_id, site_id, minute) DO UPDATE SET scans = sampling_scanminute.scans + 1;
    END IF;
    RETURN jsonb_build_object('result', v_result, 'reason', v_reason, 'tube', v_tube, 'person', v_person);
END;
$$;
