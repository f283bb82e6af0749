"""Quality gate of story assignment (events across outlets) over the labelled STORY set.

Each split of ``tests/quality/stories/`` (``tune``: the story threshold was chosen on it;
``heldout``: never tuned on; ``heldout2``: written by another author who never saw the algorithm,
never inspected pair by pair, the honest estimate) is rendered as realistic outlet pages
(``load.render_split``: file names sort in publication order) and run through ``rasid process``
(in-process: :func:`pipeline.stream.batch.run_files`, the command's own code, one call over all the
files, so story ids are assigned across them). The records' ``story_id`` are scored pairwise
against the gold stories (``load.pairwise_scores``). Target: precision >= 0.98 and recall >= 0.90;
FLOORS below say what each split must keep. An empty or missing split fails, saying so.

``.venv/bin/python tests/quality/test_stories_gate.py [-v]`` prints the figures (and, with ``-v``,
every wrongly merged and every split story).
"""

from __future__ import annotations

import io
import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE / "stories") not in sys.path:
    sys.path.insert(0, str(HERE / "stories"))

import load

TARGET = {"precision": 0.98, "recall": 0.90}
# The floors CI enforces per split. Tune met the target until the 24-hour window (see below). Held-out does not yet (0.817 / 0.803 on
# 2026-12-05; 0.836 / 0.918 on 2026-12-06 once the official and the other outlets' words for the dead,
# the armed groups and a capture became one key each, 0.875 / 0.918 once the headlines' towns were
# compared; it is a development split now: Trump's next-day meeting in Riyadh still merges with his
# sanctions announcement there); its floors stop a regression.
# heldout2 (30 stories, 96 articles, written on 2026-12-06 by an author who never saw this code) met the
# target when first measured (1.000 / 0.920), so it gates at the target.
# heldout3 (37 stories, 110 articles, 13 hard negatives, 2026-12-06, another author who never saw this code)
# scored 0.874 / 0.915 when first measured; read pair by pair since, it is a development split too (0.929 /
# 0.915 once the headlines' towns were compared, 0.952 / 0.915 with the steeper time decay); its floors stop a regression.
# heldout4 (42 stories, 109 articles, 17 hard negatives, 2026-12-06, a fourth author) scored 0.648 / 0.959 when
# first measured (the code of the morning: 0.603 / 0.929): next-day events that answer one another (an
# attack and the shelling the next day, a strike and the Security Council's session on it) merge. Read
# since: 0.758 / 0.959 once a story is compared as a whole only while its first article is in the window.
# heldout5 (42 stories, 108 articles, 11 hard negatives, 2026-12-06, a fifth author), measured once on the
# end-of-day code: 0.793 / 0.989, the same as the morning's code (none of the day's rules touched it): the
# same principal in two meetings on one day, the same town's car bombs two days apart merge. Read since:
# 0.836 / 0.989 once one official's two meetings were told apart, 0.885 / 0.989 with the 36-hour window,
# 0.939 / 0.989 once the gazetteer knew Jumblatt (and 25 other figures of 2024-25).
# heldout6 (48 stories, 111 articles, 15 hard negatives, 2026-12-06, a sixth author), measured once on the
# session's final code: 0.921 / 0.864 (the morning's code: 0.791 / 0.840). Official outlets' framings stand
# apart; a US drone shoot-down and Turkish strikes the same day merge. Read since: 0.922 / 0.877 with the
# 36-hour window.
# heldout7 (43 stories, 110 articles, 13 hard negatives, 2026-12-06, a seventh author asked for clusters of
# events within two days in one governorate or around one official), measured once on the code of that
# hour (90e7ea4): 0.730 / 0.918 (the morning's code: 0.712 / 0.918). The day's new officials meeting one
# another in Damascus (al-Sharaa with al-Jalali, al-Bashir named caretaker PM, two delegations on one day)
# merge. Read since: 0.748 / 0.918 once a headline's landmark counted as a place, 0.774 / 0.918 once a
# headline's countries counted as parties of a meeting, 0.798 / 0.938 once a page that gives only its date
# was placed in its morning, not at midnight.
# On 2026-12-06 (third session) a headline's kind of act counted (story_keys.headline_acts: past the first
# 12 hours a report of another kind of act is another event): heldout 0.875 -> 1.000 (Trump's meeting
# in Riyadh no longer joins his sanctions announcement), heldout4 0.758 -> 0.839 (the Security Council's
# session stands apart from the strikes it discussed), heldout7 0.798 -> 0.968 (al-Bashir's appointment
# and al-Sharaa's vow on the torturers from his meeting the evening before); no split lost a pair of recall.
# heldout now meets the target.
# heldout8 (41 stories, 109 articles, 14 hard negatives, 2026-12-06, an eighth author; events of 2019, 2021, 2023
# and 2025, many small local incidents and recurring statements), measured once on the session's final code
# (f0159d9): 1.000 / 0.960 (the morning's code: 0.798 / 0.960). It met the target, so it gates at the target;
# like heldout2 it is not read pair by pair.
# heldout9 (41 stories, 109 articles, 13 hard negatives, 2026-12-06, a ninth author asked for clusters of 3-5 distinct
# events within two days in one governorate or around one official or body; events of 2018, 2020, 2022 and 2024),
# measured once as unseen on 021a8d0 (the third session's code with the kinds of act): 0.478 / 0.980, and the same on
# the session's starting code. The phases of one campaign (Turkey's air strikes on Afrin, then its ground push the
# next day; the Ghouta ground offensive and a chlorine claim there the same evening; the Daraa air campaign and the
# Busra deal the next day) and one day's diplomacy around one crisis (the Putin-Erdogan call, NATO's Article 4
# meeting, the Security Council session, Erdogan's speech) merge: a story compared as a whole carries them on.
# Read since: 0.524 / 0.980 once a truce, a deal, a chemical claim, a call, displacement and arrests were kinds of
# act and «رغم» (despite) marked a reference, 0.583 / 0.980 once a story is compared as a whole only when one of
# its members scores 0.8 of the threshold on its own (no other split changed), 0.695 / 0.980 once the weekday a
# lead names counted (below). Its floors stop a regression; it is far below the target.
# heldout10 (43 stories, 107 articles, 22 hard negatives, 2026-12-06, a tenth author, the same brief as heldout9 for
# 2019, 2021, 2023 and 2025: Israeli strikes on Damascus by day and by night, Ariha's homes and then its hospital
# struck, the Jaramana and Sahnaya clashes and the Israeli strike on Sahnaya, the Sweida clashes, the army's
# deployment and Israel's strikes on its tanks), measured once as unseen on 4e0b561: 0.330 / 0.967 (the session's
# starting code: the same). Read since: 0.412 / 0.933 once the weekday a lead names counted
# (story_keys.lead_days: two reports whose leads name different days are two events; heldout4 0.839 -> 0.912,
# heldout9 0.583 -> 0.695; recall 0.959 -> 0.949 on heldout4 and 0.967 -> 0.933 on heldout10, where a report of
# no named day still joins the wrong day's story and the right day's reports stay apart from it).
# heldout11 (43 stories, 110 articles, 13 hard negatives; an eleventh author, heldout9's brief for 2018, 2020, 2022
# and 2024: twelve clusters) and heldout12 (44 stories, 109 articles, 11 hard negatives; a twelfth author, heldout8's
# brief of small local incidents and recurring statements, with next-day follow-ups, for 2019, 2021, 2023 and 2025),
# written at the same time, measured once as unseen on eaa2ae6: heldout11 0.720 / 0.969 (the session's starting
# code: 0.688 / 0.969), heldout12 0.856 / 0.865 (the starting code: 0.865 / 0.933: the weekday rule split next-day
# follow-ups whose lead named the day someone reacted on). Read since: heldout12 0.862 / 0.910 once a lead whose
# first weekday is a speaker's or a reacting party's («رفضت الرئاسة الأحد») says no event day (no other split changed).
# heldout13 (42 stories, 105 articles, 15 hard negatives; heldout9's brief for 2019, 2021, 2023 and 2025: eight
# clusters) and heldout14 (44 stories, 107 articles, 12 hard negatives; heldout12's brief for 2018, 2020, 2022 and
# 2024), written at the same time, measured once as unseen on the third session's final story code (3aa6a76):
# heldout13 0.636 / 0.957 (the session's starting code: 0.497 / 0.989), heldout14 0.848 / 0.886 (the starting
# code: 0.854 / 0.932). Without the weekday rule: 0.529 / 0.978 and 0.854 / 0.932: it parts next-day events and
# also next-day follow-ups whose lead names their own day (a funeral the day after a bombing, a protest in
# Damascus the day after a Christmas tree was burnt in Suqaylabiyah). Over all fifteen splits it is the better
# trade (pooled 0.760 / 0.947 without it, 0.817 / 0.939 with it), not a free one. Read since: a lead that names
# the other report's event day as well refers back to it (the funeral «for the victims of Tuesday's bombing»):
# heldout14 0.853 / 0.920, heldout13 0.623 / 0.978, heldout9 0.678 / 0.970; pooled 0.814 / 0.942.
# On 2026-12-06 (fourth session) an article stopped joining a story through a later member when the story's first
# article scores nothing against it (it shares no key, or a veto sets them apart): a member that names no day or act
# had carried the next day's event into the story. Over the fifteen splits pooled 0.814 / 0.942 -> 0.866 / 0.932
# (false pairs 315 -> 210, missed 85 -> 100): heldout9 0.678 -> 0.822, heldout10 0.412 -> 0.516, heldout13 0.623 ->
# 0.712 in precision; recall lost on heldout3 (0.915 -> 0.876: a follow-up the vetoes wrongly part from the first
# report no longer joins through a rewrite), heldout7, heldout8, heldout12 and heldout13.
# heldout15 (40 stories, 105 articles, 13 hard negatives; heldout9's brief for 2018, 2020, 2022 and 2024: ten
# clusters) and heldout16 (39 stories, 109 articles, 12 hard negatives; heldout12's brief for 2019, 2021, 2023 and
# 2025), written at the same time by two more authors who never saw this code, measured once as unseen:
# heldout15 0.596 / 0.832 (without the first-article rule: 0.492 / 0.901; the second session's starting code,
# deddb7b: 0.404 / 0.911), heldout16 0.962 / 0.909 (0.927 / 0.918 without it; deddb7b: 0.929 / 0.955). Not read
# pair by pair: only their totals are looked at. Then the one-official-in-two-meetings veto came to need a meeting in
# one of the two headlines (Nebenzia explaining Russia's veto is no second meeting): heldout3 recall 0.876 -> 0.891.
# heldout17 (37 stories, 100 articles, 16 hard negatives; heldout9's brief for 2019, 2021, 2023 and 2025: nine clusters)
# and heldout18 (45 stories, 109 articles, 15 hard negatives; heldout12's brief for 2018, 2020, 2022 and 2024), written
# at the same time by two more authors who never saw this code, measured once as unseen on the fourth session's final
# code (cb0afbf): heldout17 0.691 / 0.931, heldout18 0.955 / 0.966; the third session's final code (487d8c4) scores
# the same on both, the second session's start (deddb7b) 0.468 / 0.931 and 0.955 / 0.966. Only their totals are read.
# heldout19 (38 stories, 100 articles, 14 hard negatives; heldout9's brief for 2018, 2020, 2022 and 2024: ten clusters)
# and heldout20 (39 stories, 103 articles, 12 hard negatives; heldout12's brief for 2019, 2021, 2023 and 2025), written
# at the same time by two more authors who never saw this code (2026-12-06, fifth session), measured once as unseen on
# 54ec8c0: heldout19 0.624 / 0.936, heldout20 0.939 / 0.920 (deddb7b: 0.429 / 0.989 and 0.819 / 0.950). Two rules
# tried that session, each better on the fifteen read splits, gave the same pooled F1 on heldout15-20 and were dropped.
# The gazetteer then took «في جاسم» as the town of Jassim (its cue list had no «في»): heldout11 0.777 / 0.959 ->
# 0.792 / 0.969 (a bombing in Jassim no longer joins an assassination in Tafas, 28 km away); no other split changed.
# heldout21 (42 stories, 110 articles, 15 hard negatives; heldout9's brief for 2019, 2021, 2023 and 2025: nine clusters)
# and heldout22 (42 stories, 109 articles, 14 hard negatives; heldout12's brief for 2018, 2020, 2022 and 2024), written
# at the same time by two more authors who never saw this code (2026-12-06, sixth session; both briefs now also ask for
# a few stories where one outlet publishes its own update of an event), measured once as unseen on c1df9de (story code
# as at 779c5a2): heldout21 0.689 / 0.981, heldout22 1.000 / 0.980 (deddb7b: 0.449 / 1.000 and 1.000 / 1.000).
# heldout22 meets the target and gates at it.
# heldout23 (39 stories, 109 articles, 15 hard negatives; clusters, 2018, 2020, 2022, 2024) and heldout24 (41 stories,
# 110 articles, 14 hard negatives; ordinary coverage, 2019, 2021, 2023, 2025), written blind the same way, were asked
# for to test one change chosen before they existed: the story window cut from 36 to 24 hours (the story's first
# report and the last article that may join it; the time factor falls from 1 at 12 hours to 0.3 at 24). Over
# heldout15-22, already measured, it had taken the pooled figures from 0.778 / 0.931 to 0.858 / 0.926 (a 30-hour
# window: 0.801 / 0.935), while the fifteen read splits stayed flat (F1 0.900 -> 0.901). Measured once each:
# heldout23 0.816 / 0.911 at 36 h, 0.857 / 0.911 at 30 h, 0.889 / 0.929 at 24 h; heldout24 0.880 / 0.954 at 36 h
# and 30 h, 0.903 / 0.944 at 24 h (deddb7b: 0.534 / 0.982 and 0.880 / 0.954). So the window is 24 hours and the
# floors below are its figures: stories of big events covered over more than a day now split at the day (tune's
# Assad-falls and Balyun stories: recall 0.935 -> 0.852, below the target; heldout3 0.891 -> 0.853, heldout10
# 0.922 -> 0.856), and the next day's other events in the same place no longer join (heldout15 0.596 -> 0.885,
# heldout16 0.962 -> 1.000, heldout19 0.624 -> 0.678, heldout21 0.689 -> 0.750 in precision). All twenty-five
# pooled: 0.835 / 0.933 -> 0.879 / 0.919; the ten splits written blind last (heldout15-24): 0.792 / 0.931 -> 0.866 / 0.929.
# (The recurring-statement test now reads the wording's score before the time decay: at 24 hours the decay alone
# hid a ministry's next-day statement; no split changed.)
# heldout25 (47 stories, 109 articles, 21 hard negatives; clusters, 2019, 2021, 2023, 2025) and heldout26 (38 stories,
# 109 articles, 13 hard negatives; ordinary coverage, 2018, 2020, 2022, 2024), written blind the same way (seventh
# session), measured once as unseen on 510932a (story assignment as at c820441): 0.658 / 0.882 and 0.844 / 0.908
# (deddb7b: 0.319 / 0.929 and 0.821 / 1.000). heldout27 (46 stories, 110 articles, 14 hard negatives; clusters, 2018,
# 2020, 2022, 2024) and heldout28 (39 stories, 106 articles, 13 hard negatives; ordinary coverage, 2019, 2021, 2023,
# 2025), written blind the same way after them, measured once as unseen on 8c7d9be: 0.848 / 0.923 and 0.787 / 0.889
# (deddb7b: 0.503 / 0.956 and 0.714 / 0.972). Only their totals are looked at. heldout29 (41 stories, 110 articles,
# 15 hard negatives; clusters, 2019, 2021, 2023, 2025) and heldout30 (41 stories, 107 articles, 13 hard negatives;
# ordinary coverage, 2018, 2020, 2022, 2024), written blind after them, measured once as unseen on a614e07 (the same
# story assignment): 0.705 / 0.861 and 0.861 / 0.959 (deddb7b: 0.455 / 0.898 and 0.836 / 1.000). Totals only.
# On 2026-12-07 (eighth session) how a headline says the blow was struck became a veto at any hour
# (story_keys.headline_means: from the air, by ground fire, a planted bomb or mine, gunfire; story_marks.other_event):
# a drone on a car and a guided missile on farmers in the next village, gunmen and a roadside bomb in one province
# that day. Its word list was shaped on pairs of all thirty-one splits, so it is no blind result there: pooled
# 0.858 / 0.916 -> 0.865 / 0.915 (false pairs 467 -> 441, missed 260 -> 264: heldout24 0.903 -> 0.971, heldout30
# 0.861 -> 0.912, heldout28 0.787 -> 0.819, heldout25 0.658 -> 0.682 in precision; recall lost on heldout12, 0.888 ->
# 0.876: Israel answering shells with artillery and air strikes, one story; heldout25 0.882 -> 0.859; heldout28).
# heldout31 (40 stories, 110 articles, 17 hard negatives; clusters, 2018, 2020, 2022, 2024) and heldout32 (42 stories,
# 108 articles, 21 hard negatives; ordinary coverage, 2019, 2021, 2023, 2025), written blind at the same time, measured
# once as unseen with and without the rule: the same, 0.716 / 0.876 and 0.876 / 0.952. Totals only.
# heldout33 (40 stories, 109 articles, 20 hard negatives; clusters, 2019, 2021, 2023, 2025) and heldout34 (42 stories,
# 107 articles, 18 hard negatives; ordinary coverage, 2018, 2020, 2022, 2024), written blind after them and measured
# once on 765c420, with and without the rule: the same again, 0.699 / 0.877 and 0.778 / 0.963. Totals only. The
# twenty blind splits (heldout15-34) pooled: 0.824 / 0.917; the four newest 0.760 / 0.914.
# Then heldout34 was read, and who struck became a veto at any hour too (story_keys.headline_agents: the party
# right after a strike word or before a strike verb, «غارات روسية», «قصف لقوات النظام», «هجوم لداعش»; one air raid
# given to the regime by one outlet and to Russia by another stays one): regime shelling of Iblin and Russian raids on
# Kafr Takharim, the coalition's raids on al-Shafa and an ISIS attack on the SDF nearby. Over the thirty-five splits
# 0.850 / 0.915 -> 0.858 / 0.915 (false pairs 573 -> 535, none missed more: heldout19 0.678 -> 0.713, heldout27 0.848
# -> 0.884, heldout29 0.705 -> 0.775, heldout34 0.778 -> 0.882). Its word list too saw the titles of conflicting pairs
# of every split. heldout35 (clusters) and heldout36 (ordinary), written blind meanwhile, measured once with and
# without it: 0.621 / 0.905 and 0.605 / 0.905; 0.820 / 0.861 both ways.
# heldout35 was read after that: a seat's longer alias («درعا البلد» of درعا) now names the city in a headline, so
# the clashes with an ISIS cell in Daraa al-Balad stand apart from a killing in al-Musayfira that morning (heldout35
# 0.621 -> 0.655; no other split changed).
# heldout37 (clusters; 42 stories, 110 articles, 18 hard negatives) and heldout38 (ordinary; 44 stories, 108 articles,
# 19 hard negatives), written blind after all three of the session's changes, measured once on them and on the
# session's starting code (397618d): the same, 0.655 / 0.903 and 0.835 / 0.894. Of the eight splits written blind this
# session (heldout31-38, 0.759 / 0.902 pooled) only heldout35 moved at all (the agents). The twenty-four blind splits
# (heldout15-38) pooled: 0.819 / 0.912; ordinary coverage 0.898 / 0.926, clusters 0.748 / 0.898.
# Then a headline's landmark («قرب X», «بريف X») came to stand for 10 km around X, not 20 (EventIndex.near_km; a sweep
# over the thirty-nine splits: 20 -> 10 km took false pairs 677 -> 661 with none missed more, heldout32 0.876 -> 0.925,
# heldout33 0.699 -> 0.748; 5 and 0 km lost recall). heldout39 (clusters; 39 stories, 109 articles, 17 hard negatives)
# and heldout40 (ordinary; 40 stories, 107 articles, 14 hard negatives), written blind meanwhile, measured once: the
# same at 10 and 20 km, 0.949 / 0.957 and 0.850 / 0.971; on the session's starting code 0.757 / 0.940 and 0.850 /
# 0.971 (heldout39: 0.886 / 0.940 with the means alone). The ten splits written blind this session (heldout31-40):
# 0.751 / 0.912 on the starting code, 0.794 / 0.914 now; the twenty-six blind splits (heldout15-40) 0.797 / 0.916 ->
# 0.829 / 0.916; all forty-one 0.827 / 0.915 -> 0.849 / 0.915 (false pairs 806 -> 685, missed 358 -> 360).
# heldout41 (clusters; 40 stories, 107 articles, 15 hard negatives) and heldout42 (ordinary; 43 stories, 108 articles,
# 20 hard negatives), written blind last, were to test a story compared as a whole only when a member scores 0.9 of the
# threshold, not 0.8 (over the forty-one splits: false pairs 685 -> 666, missed 360 -> 362; at 1.0: 611 and 377, with
# heldout2's recall below the target). Measured once: the same at 0.8 and 0.9, 0.732 / 0.894 and 0.710 / 0.945 (1.0:
# heldout42 0.741 / 0.945), so the floor stays 0.8. On the session's starting code 0.734 / 0.903 and 0.671 / 0.972.
# The twelve splits written blind this session (heldout31-42): 0.742 / 0.917 on the starting code, 0.781 / 0.915 now.
# heldout43 (clusters; 42 stories, 108 articles, 17 hard negatives) and heldout44 (ordinary; 41 stories, 108 articles,
# 21 hard negatives), written blind last, measured once on 5b2f6f3: 0.733 / 0.955 and 0.938 / 1.000 (the starting
# code: 0.605 / 0.955 and 0.938 / 1.000). The fourteen of this session: 0.742 / 0.926 -> 0.788 / 0.924; the thirty
# blind splits (heldout15-44) 0.785 / 0.922 -> 0.821 / 0.921; all forty-five 0.815 / 0.919 -> 0.841 / 0.918.
# heldout45 and heldout47 (clusters; 41 stories / 107 articles / 18 hard negatives and 43 / 108 / 18) and heldout46 and
# heldout48 (ordinary; 41 / 109 / 15 and 40 / 109 / 16), written blind in the ninth session, measured once each on its
# story code (unchanged since ed9bfd2): 0.698 / 0.838, 0.573 / 0.969, 0.941 / 0.950 and 0.901 / 0.965. None of the
# session's story variants (a learned pair score, no whole-story comparison, a higher threshold) was kept: on the
# splits before them they moved along the threshold's precision/recall curve, and none did better on heldout47-48.
# The thirty-four blind splits (heldout15-48): 0.812 / 0.922.
# heldout49 (clusters; 43 / 110 / 18) and heldout50 (ordinary; 41 / 107 / 16), written blind last to test one choice
# made before they existed (a logistic pair score, tests/quality/stories/pairs.py, in place of the hand score and the
# whole-story comparison): on the stage's code 0.626 / 0.939 and 1.000 / 0.937 (heldout50 meets the target), with
# the model 0.704 / 0.898 and 1.000 / 0.968. Not adopted: the integration test's corpus showed it joining two distinct
# reports minutes apart that the hand score keeps apart (see pairs.py). The thirty-six blind splits: 0.810 / 0.923.
# Tenth session: the pair score adopted (pipeline/stages/story_pairs.py: the logistic regression gated by the hand
# score's vetoes, no whole-story comparison, joining at p 0.5), with a headline guard: within 3 hours a pair whose
# headlines share fewer than two keys needs the hand score at 0.06 as well. heldout51 (clusters; 41 / 110 / 22) and
# heldout52 (ordinary; 43 / 108 / 16) were written blind to test it with the guard for headlines sharing no key: the
# stage until then 0.699 / 0.835 and 0.797 / 1.000, the pair score 0.739 / 0.854 and 0.839 / 1.000. The integration
# test then failed (five rewrites of the Turkish convoy joined the defence minister's warning 20 minutes earlier: one
# place in both headlines, p 0.83, hand 0.057), and the guard was widened to fewer than two keys. heldout53 (clusters;
# 40 / 108 / 20) and heldout54 (ordinary; 40 / 107 / 15), written blind to test that: the stage until then 0.681 /
# 0.922 and 0.951 / 0.924, the pair score 0.708 / 0.951 and 0.979 / 0.914 (two false pairs: just short of the target). Floors re-set:
# precision rose on nearly every split, recall fell on some (heldout2 0.920 -> 0.848 and heldout16 0.918 -> 0.891
# leave the target: state media's own framing of an event, SANA or RT, that the whole-story comparison used to take
# in; tune 0.852 -> 0.750). The forty blind splits (heldout15-54): 0.806 / 0.922 -> 0.866 / 0.918.
# Eleventh session, no story rule changed: heldout55 (clusters; 42 / 108 / 25) and heldout56 (ordinary; 40 / 107 /
# 14), written blind, measured once: 0.691 / 0.970 and 0.930 / 0.938. The forty-two blind splits: 0.862 / 0.920.
# Twelfth session, no story rule changed: heldout57 (clusters; 40 / 106 / 22) and heldout58 (ordinary; 43 / 108 /
# 15), written blind, measured once: 0.735 / 0.971 and 0.835 / 0.960. The forty-four blind splits: 0.858 / 0.922.
# Thirteenth session: an article joins a story only if its scores with the story's five newest live members reach
# 0.5 on average (EventIndex.members_floor), not through one member alone: the next attack in the province that day
# took after one report of the last and carried its own event's later reports in after it. Over the forty-four blind
# splits 0.858 / 0.922 -> 0.915 / 0.906 (false pairs 705 -> 391, missed 362 -> 436), above the curve a higher
# threshold draws (over the forty-six: 0.901 / 0.902 at 0.65, 0.918 / 0.894 at 0.7, against 0.913 / 0.906). What it loses: reactions and side angles that took after one report only (Damascus condemning the
# Afrin operation, Moscow calling the Ghouta chlorine reports staged, Kyiv cutting ties after the Donbas
# recognition). heldout59 (clusters; 40 / 109 / 19) and heldout60 (ordinary; 40 / 108 / 14), written blind meanwhile,
# measured once: 0.785 / 0.919 and 1.000 / 0.911 (the session's starting code: 0.605 / 0.935 and 1.000 / 0.938).
# The forty-six blind splits (heldout15-60): 0.852 / 0.923 -> 0.913 / 0.906; all sixty-one 0.871 / 0.914 -> 0.927 /
# 0.896. Floors re-set to the new figures: precision rose on thirty-nine splits (fell a little on five), recall
# fell on thirty-three. heldout61 (clusters; 40 / 109 / 25) and heldout62 (ordinary; 41 / 107 / 14), written blind after
# the rule was committed, measured once on it: 0.800 / 0.912 and 0.860 / 0.929 (the session's starting code: 0.738 /
# 0.939 and 0.865 / 0.970). The forty-eight blind splits (heldout15-62): 0.849 / 0.924 -> 0.909 / 0.907.
# Fourteenth session: heldout63 (clusters; 40 / 107 / 20) and heldout64 (ordinary; 43 / 108 / 15), written blind,
# measured once on the thirteenth session's code: 0.964 / 0.991 and 0.770 / 0.990. Then a pair of one outlet's
# reports joins only at a probability of 0.9 (EventIndex.same_outlet_floor): its next report from the province in
# its own words was another event more often than an update. The forty-eight blind splits (heldout15-62): 0.909 /
# 0.907 -> 0.927 / 0.901 (false pairs 463 -> 362, missed 473 -> 502), above the threshold's curve (0.913 / 0.901 at
# 0.6); heldout63-64 0.964 / 0.991 and 0.866 / 0.990. Floors re-set to the new figures.
# heldout65 (clusters; 40 / 108 / 15) and heldout66 (ordinary; 40 / 107 / 15), written blind after the floor was
# committed, measured once on it: 0.878 / 0.856 and 0.961 / 0.838 (without it: 0.850 / 0.864 and 0.962 / 0.872).
# The fifty-two blind splits (heldout15-66): 0.906 / 0.908 -> 0.926 / 0.902 (false pairs 518 -> 399, missed 506 -> 540).
# Fifteenth session: heldout67 (clusters; 40 / 110 / 18) and heldout68 (ordinary; 43 / 106 / 17), written blind,
# measured once on the fourteenth session's final code (93c968a): 0.908 / 0.892 and 0.918 / 0.937.
# Then a headline's bombing («تفجير») became a planted bomb (headline_means), and within the first hours two headlines
# framing different kinds of act (not a vow, a speech or a deal) came to count only at a probability of 0.8
# (EventIndex.other_act_floor). The fifty-two blind splits (heldout15-66): 0.926 / 0.902 -> 0.934 / 0.903 (false
# pairs 399 -> 353, missed 540 -> 533). heldout69 (clusters; 42 / 109 / 19) and heldout70 (ordinary; 42 / 108 / 15),
# written blind meanwhile, measured once on 93c968a: 0.840 / 0.899 and 1.000 / 0.903; with both changes 0.888 / 0.879
# and 1.000 / 0.903 (heldout67-68 unchanged). heldout70 meets the target and gates at it. Floors re-set.
# Sixteenth session: heldout71 (clusters; 42 / 111 / 19) and heldout72 (ordinary; 44 / 110 / 16), written blind after
# the fifteenth session's two rules were committed, measured once on them (c94a550): 0.979 / 0.904 and 1.000 / 0.937.
# heldout72 meets the target and gates at it; heldout71 is 0.001 short of it in precision.
# heldout73 (clusters; 42 / 107 / 20) and heldout74 (ordinary; 44 / 112 / 17), written blind at the same time, measured
# once on 57aba7e: 0.839 / 0.922 and 0.938 / 0.900.
# A side or «قرب» became a cue for a guarded town (config/gazetteer.yaml, «قرب هجين»): heldout46 0.969 / 0.940 -> 1.000 /
# 0.950 (Hajin's roadside bomb no longer joins al-Shuhayl's raid); it gates at the target.
# Then bulldozing became an incursion («تجرف»: the kind raid) and holding someone an arrest («تحتجز»): such a headline
# frames its own kind of act, and the other-act floor and veto apply to it: heldout26 0.885 -> 0.931, heldout40 0.944
# -> 1.000, heldout41 0.963 -> 0.981, heldout47 0.695 -> 0.718, heldout57 0.909 -> 0.980 (recall unchanged or up); over
# the 52 blind splits false pairs 350 -> 324, missed 532 -> 531. heldout40, 41 and 57 gate at the target.
# Then aid handed out or sent («يوزع», «قافلة») became relief, the kind of a rescue: heldout18 0.976 / 0.932 -> 1.000 /
# 0.943, heldout57 0.980 -> 1.000, heldout65 0.878 / 0.856 -> 0.911 / 0.864; over the 52 blind splits false pairs 324
# -> 316, missed 531 -> 529. heldout18 gates at the target.
# heldout75 (clusters; 44 / 111 / 20) and heldout76 (ordinary; 44 / 110 / 18), written blind meanwhile, measured once on
# de7bf2c: 0.946 / 0.898 and 0.878 / 0.849, the same as on the session's starting code; heldout71-74 are unchanged too.
FLOORS = {"tune": {"precision": 0.99, "recall": 0.72}, "heldout": {"precision": 0.99, "recall": 0.86},
          "heldout2": {"precision": 0.99, "recall": 0.84}, "heldout3": {"precision": 0.94, "recall": 0.84},
          "heldout4": TARGET, "heldout5": TARGET, "heldout6": {"precision": 0.94, "recall": 0.77},
          "heldout7": {"precision": 0.97, "recall": 0.85}, "heldout8": TARGET,
          "heldout9": {"precision": 0.99, "recall": 0.83}, "heldout10": {"precision": 0.91, "recall": 0.82},
          "heldout11": TARGET, "heldout12": {"precision": 0.99, "recall": 0.89},
          "heldout13": {"precision": 0.99, "recall": 0.86}, "heldout14": {"precision": 0.97, "recall": 0.82},
          "heldout15": {"precision": 0.99, "recall": 0.86}, "heldout16": {"precision": 0.99, "recall": 0.83},
          "heldout17": {"precision": 0.88, "recall": 0.93}, "heldout18": TARGET,
          "heldout19": {"precision": 0.96, "recall": 0.86}, "heldout20": {"precision": 0.93, "recall": 0.90},
          "heldout21": {"precision": 0.93, "recall": 0.85}, "heldout22": TARGET,
          "heldout23": {"precision": 0.99, "recall": 0.88}, "heldout24": {"precision": 0.99, "recall": 0.87},
          "heldout25": {"precision": 0.80, "recall": 0.78}, "heldout26": {"precision": 0.93, "recall": 0.90},
          "heldout27": {"precision": 0.99, "recall": 0.84}, "heldout28": {"precision": 0.98, "recall": 0.75},
          "heldout29": {"precision": 0.90, "recall": 0.83}, "heldout30": {"precision": 0.96, "recall": 0.95},
          "heldout31": {"precision": 0.85, "recall": 0.81}, "heldout32": TARGET,
          "heldout33": {"precision": 0.99, "recall": 0.88}, "heldout34": TARGET,
          "heldout35": {"precision": 0.87, "recall": 0.84}, "heldout36": {"precision": 0.99, "recall": 0.85},
          "heldout37": {"precision": 0.91, "recall": 0.93}, "heldout38": {"precision": 0.90, "recall": 0.87},
          "heldout39": TARGET, "heldout40": TARGET,
          "heldout41": TARGET, "heldout42": {"precision": 0.94, "recall": 0.91},
          "heldout43": TARGET, "heldout44": {"precision": 0.93, "recall": 0.99},
          "heldout45": {"precision": 0.98, "recall": 0.87}, "heldout46": TARGET,
          "heldout47": {"precision": 0.71, "recall": 0.91}, "heldout48": {"precision": 0.95, "recall": 0.87},
          "heldout49": {"precision": 0.86, "recall": 0.80}, "heldout50": TARGET,
          "heldout51": {"precision": 0.77, "recall": 0.81}, "heldout52": TARGET,
          "heldout53": TARGET, "heldout54": {"precision": 0.98, "recall": 0.88},
          "heldout55": {"precision": 0.89, "recall": 1.00}, "heldout56": TARGET,
          "heldout57": TARGET, "heldout58": {"precision": 0.92, "recall": 0.95},
          "heldout59": {"precision": 0.81, "recall": 0.93}, "heldout60": TARGET,
          "heldout61": {"precision": 0.91, "recall": 0.96}, "heldout62": {"precision": 0.85, "recall": 0.92},
          "heldout63": {"precision": 0.96, "recall": 0.99}, "heldout64": {"precision": 0.86, "recall": 0.98},
          "heldout65": {"precision": 0.91, "recall": 0.86}, "heldout66": {"precision": 0.96, "recall": 0.83},
          "heldout67": {"precision": 0.90, "recall": 0.89}, "heldout68": {"precision": 0.91, "recall": 0.93},
          "heldout69": {"precision": 0.88, "recall": 0.87}, "heldout70": TARGET,
          "heldout71": {"precision": 0.97, "recall": 0.90}, "heldout72": TARGET,
          "heldout73": {"precision": 0.83, "recall": 0.92}, "heldout74": {"precision": 0.93, "recall": 0.90},
          "heldout75": {"precision": 0.94, "recall": 0.89}, "heldout76": {"precision": 0.87, "recall": 0.84}}



def run_split(name: str, tmp: Path) -> tuple[list[dict], dict[str, str], tuple[float, float, float]]:
    """(articles, predicted stories, (P, R, F1)) of split ``name`` through ``rasid process``."""
    from pipeline.core.settings import get_settings
    from pipeline.stream.batch import run_files

    arts = load.load_split(name)
    if not arts:
        raise AssertionError(f"stories split {name!r} is empty: no YAML in {load.split_dir(name)}")
    pages = load.render_split(name, tmp / name)
    out = io.StringIO()
    run_files([str(p) for p, _ in pages], settings=get_settings(), jobs=1, out=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    bad_links = follows_errors(records, get_settings().story_window_hours)
    if bad_links:
        raise AssertionError(f"{name}: story_follows links that break their contract:\n" + "\n".join(bad_links))
    pred = load.predicted_from_records(records, arts)
    return arts, pred, load.pairwise_scores(load.gold_stories(arts), pred)


def follows_errors(records: list[dict], window_hours: float) -> list[str]:
    """What breaks the ``story_follows`` contract in ``rasid process`` output: a link is set only on the article
    that starts its story, and names a story of the same call whose first report is more than the story window
    older (an earlier day's story, never the article's own or a later one), at the times the story stage places
    them (``dedupe_time``: a page that gives only its date is placed into its day)."""
    from datetime import datetime

    from pipeline.core.schema import Article
    from pipeline.stages.process import dedupe_time

    def at(r: dict) -> datetime:
        return dedupe_time(Article(id=r["id"], published_at=datetime.fromisoformat(r["published_at"])))

    first = {r["id"]: r for r in records if r.get("id") and r.get("story_id") == r["id"]}
    errors = []
    for r in records:
        old = r.get("story_follows")
        if not old:
            continue
        if r.get("story_id") != r.get("id"):
            errors.append(f"{r.get('url')}: follows {old} but joined {r.get('story_id')}")
        elif old not in first:
            errors.append(f"{r.get('url')}: follows {old}, no story of this call")
        else:
            gap = at(r) - at(first[old])
            if gap.total_seconds() <= window_hours * 3600:
                errors.append(f"{r.get('url')}: follows {old}, begun only {gap} before")
    return errors


def disagreements(arts: list[dict], pred: dict[str, str]) -> list[str]:
    gold = load.gold_stories(arts)
    lines = []
    by_pred = defaultdict(list)
    for aid in gold:
        by_pred[pred.get(aid, aid)].append(aid)
    for members in by_pred.values():
        if len({gold[m] for m in members}) > 1:
            lines.append("merged: " + ", ".join(sorted(members)))
    by_gold = defaultdict(list)
    for aid, g in gold.items():
        by_gold[g].append(aid)
    for g, members in sorted(by_gold.items()):
        groups = defaultdict(list)
        for m in members:
            groups[pred.get(m, m)].append(m.split("--", 1)[-1])
        if len(groups) > 1:
            lines.append(f"split {g}: " + " | ".join(", ".join(v) for v in groups.values()))
    return lines


def test_follows_errors_reads_the_contract() -> None:
    def rec(aid: str, story: str, hours: int, follows: str | None = None) -> dict:
        return {"id": aid, "url": f"u/{aid}", "story_id": story, "story_follows": follows,
                "published_at": f"2024-12-0{1 + hours // 24}T{hours % 24:02d}:00:00+00:00"}

    good = [rec("a", "a", 1), rec("b", "a", 20), rec("c", "c", 30, "a")]
    assert follows_errors(good, 24) == []
    # a page that gives only its date (3 December): the stage placed it at 06:00, 25 hours after h, not 19
    assert follows_errors(good + [rec("h", "h", 29), rec("g", "g", 48, "h")], 24) == []
    assert len(follows_errors(good + [rec("d", "c", 31, "a")], 24)) == 1  # joined a story, yet follows one
    assert len(follows_errors(good + [rec("e", "e", 31, "zz")], 24)) == 1  # no such story
    assert len(follows_errors(good + [rec("f", "f", 10, "a")], 24)) == 1  # begun only 10 hours before


@pytest.mark.parametrize("split", load.SPLITS)
def test_stories_gate(split: str, tmp_path: Path) -> None:
    arts, pred, (p, r, f1) = run_split(split, tmp_path)
    print(f"\n[stories/{split}] articles={len(arts)} stories={len(set(load.gold_stories(arts).values()))} "
          f"P={p:.3f} R={r:.3f} F1={f1:.3f}")
    detail = "\n".join(disagreements(arts, pred))
    floor = FLOORS[split]
    assert p >= floor["precision"], f"{split}: pairwise precision {p:.3f} < {floor['precision']}\n{detail}"
    assert r >= floor["recall"], f"{split}: pairwise recall {r:.3f} < {floor['recall']}\n{detail}"


def main(argv: list[str]) -> int:
    import tempfile

    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for split in load.SPLITS:
            try:
                arts, pred, (p, r, f1) = run_split(split, Path(d))
            except AssertionError as e:
                print(f"[{split}] {e}")
                bad += 1
                continue
            ok = p >= FLOORS[split]["precision"] and r >= FLOORS[split]["recall"]
            target = p >= TARGET["precision"] and r >= TARGET["recall"]
            bad += not ok
            print(f"[{split}] articles={len(arts)} P={p:.3f} R={r:.3f} F1={f1:.3f} "
                  f"{'BELOW FLOOR' if not ok else 'target met' if target else 'above floor, below target'}")
            if "-v" in argv:
                for line in disagreements(arts, pred):
                    print("   ", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
