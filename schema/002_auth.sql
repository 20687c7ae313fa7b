-- Auth: refresh-token families. A family is one login; every rotation of its
-- refresh token stays in it, and revoking the family (logout, or a spent
-- token presented again) ends them all. The family row is what a rotation
-- and a revocation both lock, so a refresh racing a revocation can never
-- leave a live token behind in a revoked family.
CREATE TABLE auth.refresh_families (
    id             uuid PRIMARY KEY,
    player_id      uuid NOT NULL REFERENCES auth.players (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text CHECK (revoked_reason IN ('logout', 'reuse'))
);
CREATE INDEX refresh_families_player_idx ON auth.refresh_families (player_id);

ALTER TABLE auth.refresh_tokens
    ADD CONSTRAINT refresh_tokens_family_fkey
    FOREIGN KEY (family_id) REFERENCES auth.refresh_families (id) ON DELETE CASCADE;
