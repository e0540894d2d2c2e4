CREATE TABLE netp_results (id INTEGER PRIMARY KEY, tag TEXT, status INTEGER, body TEXT,
                           err TEXT, timed_out INTEGER);
