package dm

// aria is a level 3 rogue, badly hurt, for the tests.
func aria() *Character {
	return &Character{
		Name: "Aria", Class: "Rogue", Level: 3,
		Sheet: Sheet{
			Abilities: map[string]int{
				Strength: 10, Dexterity: 17, Constitution: 12,
				Intelligence: 13, Wisdom: 11, Charisma: 14,
			},
			HP:        &HP{Current: 4, Max: 21},
			Inventory: []string{"Shortsword", "Thieves' Tools", "Hooded cloak", "Rations"},
		},
	}
}

// smithMemory is what the blacksmith told the party many turns ago.
var smithMemory = []Memory{
	{Role: RoleDM, Score: 0.61, Content: `The smith wipes his hands on his apron. ` +
		`(Charisma check: 12 + 4 = 16 vs DC 13 — success) "My daughter? Her name is Ysolde, ` +
		`and she is the finest smith in Brightwater, though the guild won't admit it." What do you do next?`},
	{Role: RolePlayer, Score: 0.30, Content: "I ask about the old mill by the river."},
}
