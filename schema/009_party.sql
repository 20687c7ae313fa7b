-- Party play (issue #15): several players in one session, invited by a
-- code; whispers (private messages) between one player and the DM.

-- Each member plays their own character (the owner's is the session's
-- character_id, copied here so one column answers for everybody).
ALTER TABLE game.session_members
    ADD COLUMN character_id uuid REFERENCES game.characters (id) ON DELETE SET NULL;
UPDATE game.session_members m SET character_id = s.character_id
    FROM game.sessions s WHERE s.id = m.session_id AND m.role = 'owner';

-- Invites: only a hash of the code is stored (the code is a bearer secret,
-- shown once to the owner who made it). max_uses NULL: bounded only by the
-- session's member cap.
CREATE TABLE game.invites (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES game.sessions (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL UNIQUE,
    created_by  uuid NOT NULL,
    max_uses    integer CHECK (max_uses IS NULL OR max_uses > 0),
    uses        integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invites_session_idx ON game.invites (session_id, created_at);

-- Whispers: a private message is seen by one player (private_to) and the
-- DM only; a DM answer to a whisper is private to the same player.
ALTER TABLE game.messages
    ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private')),
    ADD COLUMN private_to uuid,
    ADD CONSTRAINT messages_private_to_check CHECK ((visibility = 'private') = (private_to IS NOT NULL));
-- A whisper's turn: its events go to that player alone.
ALTER TABLE game.turns ADD COLUMN private_to uuid;
