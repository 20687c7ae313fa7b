package dm

import (
	"strings"
	"unicode"
)

// intent is what the player is trying to do this turn, as far as keyword
// rules can tell.
type intent string

const (
	intentNone     intent = "none" // nothing recognised: narrate without a roll
	intentAttack   intent = "attack"
	intentSneak    intent = "sneak"
	intentPersuade intent = "persuade"
	intentSearch   intent = "search"
	intentCast     intent = "cast"
	intentMove     intent = "move"
	intentRest     intent = "rest"
	intentRecall   intent = "recall" // a question about the past
)

// intentRules are tried in order and the first that matches wins, so a
// message naming two actions gets the more specific one: "I quietly walk to
// the door" sneaks, "I ask the guard to open the gate" persuades, and a
// question about the past is recall even when it mentions a fight.
var intentRules = []struct {
	intent  intent
	words   []string // whole words, matched case-insensitively
	phrases []string // word sequences, matched on word boundaries
}{
	{intentRecall,
		[]string{"remember", "remembers", "recall", "recalls", "remind", "reminds", "earlier"},
		[]string{"what was", "who was", "where was", "when was", "what were", "who were",
			"what did", "who did", "where did", "when did", "what happened", "did we",
			"have we", "had we", "what is the name", "whats the name", "what's the name",
			"name of", "last time", "told us", "told me"}},
	{intentCast,
		[]string{"cast", "casts", "casting", "spell", "spells", "magic", "magical", "incantation",
			"invoke", "invokes", "conjure", "conjures", "summon", "summons", "pray", "prays",
			"prayer", "chant", "chants", "enchant", "fireball", "hex", "bless"},
		[]string{"magic missile", "cure wounds"}},
	{intentAttack,
		[]string{"attack", "attacks", "attacking", "fight", "fights", "fighting", "strike",
			"strikes", "hit", "hits", "slash", "slashes", "stab", "stabs", "swing", "swings",
			"shoot", "shoots", "punch", "punches", "kick", "kicks", "charge", "charges",
			"smite", "lunge", "lunges", "kill", "slay", "cleave", "bash", "smash", "shove",
			"grapple", "tackle"},
		nil},
	{intentSneak,
		[]string{"sneak", "sneaks", "sneaking", "hide", "hides", "hiding", "creep", "creeps",
			"creeping", "tiptoe", "tiptoes", "stealth", "stealthily", "quietly", "silently",
			"unseen", "unnoticed", "pickpocket", "steal", "steals", "lockpick", "lockpicks"},
		[]string{"pick the lock", "slip past", "sleight of hand"}},
	{intentPersuade,
		[]string{"persuade", "persuades", "convince", "convinces", "talk", "talks", "speak",
			"speaks", "ask", "asks", "negotiate", "bargain", "haggle", "plead", "beg", "charm",
			"intimidate", "threaten", "lie", "bluff", "deceive", "flatter", "greet", "greets",
			"tell", "tells", "say", "says", "question", "interrogate"},
		[]string{"reason with"}},
	{intentSearch,
		[]string{"search", "searches", "searching", "look", "looks", "looking", "examine",
			"examines", "investigate", "investigates", "inspect", "inspects", "study",
			"studies", "read", "reads", "listen", "listens", "scan", "scans", "peer", "peers",
			"notice", "watch", "watches", "spot", "track", "tracks", "sniff", "check",
			"checks", "decipher", "identify"},
		nil},
	{intentRest,
		[]string{"rest", "rests", "resting", "sleep", "sleeps", "sleeping", "camp", "nap",
			"heal", "heals", "healing", "bandage", "meditate", "meditates", "recover",
			"recuperate"},
		[]string{"catch my breath", "take a break"}},
	{intentMove,
		[]string{"move", "moves", "go", "goes", "walk", "walks", "run", "runs", "travel",
			"travels", "head", "heads", "climb", "climbs", "jump", "jumps", "leap", "leaps",
			"swim", "swims", "open", "opens", "enter", "enters", "leave", "leaves", "cross",
			"crosses", "follow", "follows", "approach", "approaches", "explore", "ride",
			"rides", "push", "pull", "force", "descend", "ascend", "flee", "escape",
			"return", "march", "journey"},
		nil},
}

// action is the player's message read for the narrator.
type action struct {
	intent  intent
	keyword string   // the matched word or phrase, "" for intentNone
	after   []string // the message's words after the keyword, in their original case
	words   []string // all the message's words, lower-case
}

// readAction reads the player's intent from their message.
func readAction(text string) action {
	orig := splitWords(text)
	lower := make([]string, len(orig))
	for i, w := range orig {
		lower[i] = strings.ToLower(w)
	}
	a := action{intent: intentNone, words: lower}
	for _, rule := range intentRules {
		if i, n := findPhrase(lower, rule.phrases); i >= 0 {
			a.intent, a.keyword, a.after = rule.intent, strings.Join(lower[i:i+n], " "), orig[i+n:]
			return a
		}
		for i, w := range lower {
			if contains(rule.words, w) {
				a.intent, a.keyword, a.after = rule.intent, w, orig[i+1:]
				return a
			}
		}
	}
	return a
}

// findPhrase returns the position and length of the first phrase found in
// words, or -1.
func findPhrase(words, phrases []string) (int, int) {
	for _, p := range phrases {
		pw := strings.Fields(p)
		for i := 0; i+len(pw) <= len(words); i++ {
			match := true
			for j := range pw {
				if words[i+j] != pw[j] {
					match = false
					break
				}
			}
			if match {
				return i, len(pw)
			}
		}
	}
	return -1, 0
}

// splitWords splits text into words of letters, digits and inner
// apostrophes, keeping their case for proper names.
func splitWords(text string) []string {
	ws := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
	out := ws[:0]
	for _, w := range ws {
		w = strings.ReplaceAll(w, "’", "'")
		if w = strings.Trim(w, "'"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

func contains(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

// hasAny reports whether any of the message's words is in list.
func (a action) hasAny(list []string) bool {
	for _, w := range a.words {
		if contains(list, w) {
			return true
		}
	}
	return false
}

// Words that lead into the object of an action ("attack THE goblin", "sneak
// past THE guards") and words that end it.
var (
	objectLeads = []string{"at", "to", "toward", "towards", "into", "past", "through", "on",
		"onto", "over", "under", "behind", "around", "across", "up", "down", "for", "from",
		"in", "inside", "near", "by", "along", "about", "with", "off", "out", "of", "upon"}
	articles   = []string{"the", "a", "an", "this", "that", "these", "those", "his", "her", "their"}
	objectEnds = []string{"and", "with", "then", "so", "before", "while", "until", "using",
		"to", "at", "on", "in", "into", "for", "from", "of", "but", "or", "if", "when", "as",
		"by", "behind", "past", "near", "under", "over", "toward", "towards", "across", "through",
		"i", "we", "my", "our", "quietly", "carefully", "slowly", "quickly", "again"}
)

// target finds the object of the action, such as "the goblin chieftain" in
// "I attack the goblin chieftain with my axe" or "Varro" in "I ask Varro",
// or returns "".
func (a action) target() string {
	rest := a.after
	for skipped := 0; len(rest) > 0 && skipped < 2 && contains(objectLeads, strings.ToLower(rest[0])); skipped++ {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return ""
	}
	first := rest[0]
	if contains(articles, strings.ToLower(first)) {
		var obj []string
		for _, w := range rest[1:] {
			if len(obj) == 3 || contains(objectEnds, strings.ToLower(w)) {
				break
			}
			obj = append(obj, strings.ToLower(w))
		}
		if len(obj) == 0 {
			return ""
		}
		return "the " + strings.Join(obj, " ")
	}
	// A capitalised word that is not the start of the message is a name.
	if r := []rune(first); unicode.IsUpper(r[0]) && first != "I" {
		return first
	}
	return ""
}
