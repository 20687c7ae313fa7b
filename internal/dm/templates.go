package dm

// The narrator's phrases. Placeholders: {You} opens a sentence addressed to
// the character ("Aria, you" or "You"), {, name} is ", Aria" or nothing,
// {class}, {target}/{Target}, {weapon}, {item}/{Item}, {damage}, {hurt},
// {hpchange}, {heal}, {hp} and {quote}. Every phrase must read well with
// each placeholder's fallback, since a session may have no character.

// intentTemplates are the phrases of one kind of action.
type intentTemplates struct {
	opening, success, failure []string
}

var templates = map[intent]intentTemplates{
	intentSneak: {
		opening: []string{
			"{You} draw your hood low and slip forward, keeping to the shadows.",
			"{You} hold your breath and creep on, placing each step with care.",
			"{You} wait for the right moment, then move, light-footed, keeping {target} in sight.",
		},
		success: []string{
			"Not a head turns. You pass like a rumour, unseen and unheard.",
			"The shadows welcome you. Whatever watches this place never knows you were there.",
			"Your {class}'s cunning pays off: you slip by without a sound.",
		},
		failure: []string{
			"A loose stone skitters under your boot. Somewhere nearby, a voice calls out: 'Who's there?'",
			"You are almost through when a dog begins to bark, and lantern light swings your way.",
			"A floorboard groans beneath you. You freeze, but eyes are already turning your way.",
		},
	},
	intentPersuade: {
		opening: []string{
			"{You} step forward and speak to {target}, choosing each word with care.",
			"{You} meet the eyes of {target} and make your case.",
			"{You} lean in, voice low and earnest, and put your words to {target}.",
		},
		success: []string{
			"{Target} hesitates, then nods slowly. 'Very well. I will help you, this once.'",
			"Your words find their mark. {Target} softens, and what was guarded is offered freely.",
			"A smile breaks through the wariness of {target}. You have made an ally, for now.",
		},
		failure: []string{
			"{Target} folds their arms. 'I have heard prettier lies from drunker tongues.'",
			"Your words fall flat. {Target} looks away, unmoved, and the silence stretches.",
			"Suspicion hardens on the face of {target}. Whatever you hoped for, it will not come easily now.",
		},
	},
	intentSearch: {
		opening: []string{
			"{You} take your time, studying {target} inch by inch.",
			"{You} crouch low and examine {target} with a practised eye.",
			"{You} go still and let your senses take in {target}.",
		},
		success: []string{
			"There: something others would have missed, a seam where no seam should be. You have found a clue.",
			"Your patience is rewarded. Tucked out of sight is something that does not belong, a sign that someone passed this way.",
			"Details fall into place, and you notice what was hidden in plain sight.",
		},
		failure: []string{
			"Dust, shadow and silence. If there is anything here, it hides from you.",
			"You search until your eyes ache but find nothing that stands out.",
			"Nothing catches your eye, though you cannot shake the feeling you missed something.",
		},
	},
	intentCast: {
		opening: []string{
			"{You} gather your power, the words of the spell rising to your lips.",
			"{You} trace a sigil in the air, and the air answers with a low hum.",
			"{You} reach for the weave of magic that runs beneath all things.",
		},
		success: []string{
			"Power answers your call: the spell takes shape exactly as you willed it.",
			"Arcane light flares, and your {class}'s craft bends the world to your intent.",
			"The magic flows through you, clean and strong, and {target} feels its full weight.",
		},
		failure: []string{
			"The words tangle on your tongue, and the gathered power fizzles into harmless sparks.",
			"Something resists you; the spell gutters out like a candle in the wind.",
			"The magic slips your grasp at the final syllable and unravels.",
		},
	},
	intentMove: {
		opening: []string{
			"{You} set off toward {target}.",
			"{You} press on toward {target}, watchful.",
			"{You} gather yourself and make for {target}.",
		},
		success: []string{
			"You make good progress and arrive without trouble, ready for whatever waits.",
			"The way is kind to you; before long you stand where you meant to be.",
			"Sure-footed and steady, you get there with breath to spare.",
		},
		failure: []string{
			"The going is harder than it looked. You get there in the end, but it costs you time and sweat.",
			"A misstep sends you sliding; you recover, bruised in pride if nothing else.",
			"Obstacles pile up, a blocked path and a slick of mud, and you arrive late and tired.",
		},
	},
	intentRest: {
		opening: []string{
			"{You} find a sheltered corner, set down your pack and let your eyes close.",
			"{You} tend to your wounds and settle in for some rest.",
			"{You} make camp as best you can and rest a while.",
		},
		success: []string{
			"Sleep comes easily and deeply. You wake restored{heal}.",
			"The rest does you good; aches fade and your strength returns{heal}.",
		},
		failure: []string{
			"Your rest is fitful, broken by strange noises in the dark{heal}.",
			"You toss and turn, your dreams full of teeth and fire{heal}.",
		},
	},
}

var (
	attackOpenings = []string{
		"{You} tighten your grip on {weapon} and close on {target}.",
		"{You} lunge at {target}, {weapon} flashing.",
		"{You} watch {target} for an opening, then strike with {weapon}.",
	}
	attackHits = []string{
		"The blow lands true: {weapon} bites deep, and {target} reels from {damage} damage.",
		"Steel meets flesh. {Target} staggers back, struck for {damage} damage.",
		"Your {class}'s training shows; you slip past the guard of {target} and deal {damage} damage.",
	}
	attackCriticals = []string{
		"A perfect strike, the kind bards sing about.",
		"You find the gap in the defence of {target} with deadly precision.",
	}
	attackMisses = []string{
		"{Target} twists aside at the last instant, and your strike cuts only air.",
		"Your attack glances harmlessly off the guard of {target}.",
		"{Target} parries, and for a heartbeat you are open to a riposte.",
	}
	attackFumbles = []string{
		"Your footing betrays you; {target} seizes the opening and hits back for {hurt} damage{hpchange}.",
		"You overreach, and {target} punishes it with a blow that costs you {hurt} hit points{hpchange}.",
	}

	criticalLines = []string{
		"Fortune itself seems to lean your way.",
		"It goes better than you dared hope, a feat worth a song in the next tavern.",
		"For one perfect moment, everything goes exactly right.",
	}
	fumbleLines = []string{
		"Worse, your misstep draws unwelcome attention.",
		"And as if that were not enough, something you carry slips and clatters to the ground.",
		"Somewhere close, something has noticed you.",
	}
	restInterruptions = []string{
		"You wake with a start: something is moving nearby, and there will be no more rest tonight.",
		"Barely have you closed your eyes when a shout rings out. Your rest is over before it began.",
	}

	noneOpenings = []string{
		"{You} commit to your course.",
		"{You} act, and the world answers.",
		"{You} take a breath and do it.",
	}
	noneBodies = []string{
		"For a moment nothing happens. Then, somewhere ahead, something takes notice.",
		"The air shifts. The path before you feels, somehow, different now.",
		"It is done, and its consequences are yet to unfold.",
	}

	recallOpenings = []string{
		"{You} think back over everything you have seen and heard.",
		"{You} close your eyes and reach into memory.",
		"{You} search your memory.",
	}
	recallAnswers = []string{
		"It comes back clearly: \"{quote}\"",
		"You remember it now: \"{quote}\"",
		"The words return to you: \"{quote}\"",
	}
	recallOwnWords = []string{
		"You remember your own words: \"{quote}\"",
		"It was you who said it: \"{quote}\"",
	}
	recallNothingSure = []string{
		"You are certain of one thing: nothing you have seen or heard so far speaks of it. Someone else may know.",
		"You turn it over and over, but this is new to you; no one has told you of it yet.",
	}
	recallNothingHazy = []string{
		"The memory slips away like smoke; whatever it was, it will not come.",
		"There is something there, just out of reach, but it will not come to you.",
	}

	memoryLines = []string{
		"You recall: \"{quote}\"",
		"Something stirs in your memory: \"{quote}\"",
		"A memory surfaces: \"{quote}\"",
	}
	itemLines = []string{
		"{Item} in hand, you steady yourself.",
		"You make sure you have {item} within easy reach.",
		"You keep {item} close.",
	}
	woundLines = []string{
		"Your wounds burn with every movement ({hp}).",
		"Blood seeps through your bandages ({hp}).",
	}
	closings = []string{
		"What do you do{, name}?",
		"What do you do next?",
		"What is your next move{, name}?",
		"How do you proceed?",
		"The moment is yours. What do you do?",
	}
)
