package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/auth"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// StreamTickets issues and checks short-lived, single-scope tickets that
// let a browser's EventSource (which cannot set headers) open one stream
// without putting the long-lived access token in a URL.
type StreamTickets interface {
	IssueStreamTicket(ctx context.Context, p auth.Principal, scope string) (string, time.Time, error)
	VerifyStreamTicket(ctx context.Context, ticket, scope string) (auth.Principal, error)
}

// EventStreamer writes a session's (or a turn's) events as SSE.
type EventStreamer interface {
	Serve(ctx context.Context, w http.ResponseWriter, req events.StreamRequest) error
}

// StreamPresence counts a player's open session streams as their presence
// in the party (implemented by *events.Presence).
type StreamPresence interface {
	Join(sessionID, playerID uuid.UUID) (leave func())
}

type streamHandlers struct {
	game      GameService
	tickets   StreamTickets
	streamer  EventStreamer
	heartbeat time.Duration
	guard     *StreamGuard   // nil: streams are neither capped nor ended early
	presence  StreamPresence // nil: streams are not presence
}

func registerStreams(api *gin.RouterGroup, authed gin.HandlerFunc, d Deps) {
	h := streamHandlers{game: d.Game, tickets: d.Tickets, streamer: d.Events, heartbeat: d.Heartbeat, guard: d.Streams, presence: d.Presence}
	api.POST("/stream-tickets", authed, h.issueTicket)
	api.GET("/sessions/:id/events", h.streamAuth("session", authed), h.sessionEvents)
	api.GET("/turns/:id/events", h.streamAuth("turn", authed), h.turnEvents)
}

type ticketRequest struct {
	SessionID *uuid.UUID `json:"session_id"`
	TurnID    *uuid.UUID `json:"turn_id"`
}

// issueTicket answers {ticket, expires_at, url} for one session or turn the player may read.
func (h streamHandlers) issueTicket(c *gin.Context) {
	var req ticketRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	ctx := c.Request.Context()
	p, _ := auth.PrincipalFrom(ctx)
	var scope, url string
	switch {
	case req.SessionID != nil && req.TurnID == nil:
		if err := h.game.SessionAccess(ctx, p.PlayerID, *req.SessionID); err != nil {
			fail(c, err)
			return
		}
		scope, url = "session:"+req.SessionID.String(), "/api/sessions/"+req.SessionID.String()+"/events"
	case req.TurnID != nil && req.SessionID == nil:
		if _, err := h.game.GetTurn(ctx, p.PlayerID, *req.TurnID); err != nil {
			fail(c, err)
			return
		}
		scope, url = "turn:"+req.TurnID.String(), "/api/turns/"+req.TurnID.String()+"/events"
	default:
		fail(c, apperr.Invalidf("session_id", "exactly one of session_id and turn_id is required"))
		return
	}
	ticket, exp, err := h.tickets.IssueStreamTicket(ctx, p, scope)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"ticket": ticket, "expires_at": exp, "url": url + "?ticket=" + ticket})
}

// streamAuth accepts either the Authorization header or a ?ticket= scoped
// to exactly this stream.
func (h streamHandlers) streamAuth(kind string, authed gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		ticket := c.Query("ticket")
		if ticket == "" {
			authed(c)
			return
		}
		id, err := pathID(c)
		if err != nil {
			fail(c, err)
			return
		}
		p, err := h.tickets.VerifyStreamTicket(c.Request.Context(), ticket, kind+":"+id.String())
		if err != nil {
			fail(c, err)
			return
		}
		ctx := auth.WithPrincipal(c.Request.Context(), p)
		c.Request = c.Request.WithContext(logging.With(ctx, "player_id", p.PlayerID))
		c.Next()
	}
}

// lastEventID reads Last-Event-ID (header) or last_event_id (query).
func lastEventID(c *gin.Context) (string, error) {
	id := strings.TrimSpace(c.GetHeader("Last-Event-ID"))
	if id == "" {
		id = c.Query("last_event_id")
	}
	if id == "" {
		return "", nil
	}
	if _, err := events.ParseID(id); err != nil {
		return "", err
	}
	return id, nil
}

// streamParams reads the stream's :id and resume position, answering 400
// for bad ones before any streaming starts.
func streamParams(c *gin.Context) (uuid.UUID, string, bool) {
	id, err := pathID(c)
	if err == nil {
		var last string
		if last, err = lastEventID(c); err == nil {
			return id, last, true
		}
	}
	fail(c, err)
	return uuid.Nil, "", false
}

func (h streamHandlers) sessionEvents(c *gin.Context) {
	id, last, ok := streamParams(c)
	if !ok {
		return
	}
	access := func() error { return h.game.SessionAccess(c.Request.Context(), player(c), id) }
	h.serve(c, events.StreamRequest{SessionID: id, LastEventID: last, Viewer: player(c)}, access)
}

func (h streamHandlers) turnEvents(c *gin.Context) {
	id, last, ok := streamParams(c)
	if !ok {
		return
	}
	t, err := h.game.GetTurn(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	access := func() error { return h.game.SessionAccess(c.Request.Context(), player(c), t.SessionID) }
	h.serve(c, events.StreamRequest{SessionID: t.SessionID, TurnID: t.ID, LastEventID: last, From: events.TurnFrom(t.CreatedAt), Viewer: player(c)}, access)
}

// serve admits the stream (caps, ending with its credential or the
// player's membership), then checks access — after the admission, so that
// a removal announced from then on ends the stream and one announced
// before is refused here; once per stream, as a reconnect storm pays it
// for every stream — and streams.
func (h streamHandlers) serve(c *gin.Context, req events.StreamRequest, access func() error) {
	req.Heartbeat = h.heartbeat
	req.Retry = 2 * time.Second
	release := func() {}
	if h.guard != nil {
		p, _ := auth.PrincipalFrom(c.Request.Context())
		gs, err := h.guard.admit(p, c.ClientIP(), req.SessionID)
		if err != nil {
			fail(c, err)
			return
		}
		req.Stop, req.OnClose = gs.stop, gs.release
		release = gs.release
	}
	if err := access(); err != nil {
		release()
		fail(c, err)
		return
	}
	if h.presence != nil && req.TurnID == uuid.Nil {
		leave := h.presence.Join(req.SessionID, req.Viewer)
		prev := req.OnClose
		req.OnClose = func() {
			leave()
			if prev != nil {
				prev()
			}
		}
		release = chain(release, leave)
	}
	err := h.streamer.Serve(c.Request.Context(), c.Writer, req)
	if err != nil {
		// Serve failed before the stream existed (OnClose will not run),
		// or after it ended (it ran; release is idempotent).
		release()
	}
	if errors.Is(err, events.ErrTurnEnded) {
		// Resumed after the turn's final event: nothing more will come,
		// and 204 tells EventSource not to reconnect.
		c.Status(http.StatusNoContent)
		return
	}
	if err != nil && c.Request.Context().Err() == nil {
		if !c.Writer.Written() {
			fail(c, err)
			return
		}
		logging.From(c.Request.Context()).Info("stream ended", "err", err)
	}
}

// chain runs a, then b.
func chain(a, b func()) func() { return func() { a(); b() } }
