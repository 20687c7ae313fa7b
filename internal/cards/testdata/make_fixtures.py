# Builds the card fixtures from the published specs (Character Card V2,
# github.com/malfoyslastname/character-card-spec-v2; V3,
# github.com/kwaroran/character-card-spec-v3) with Python's zlib and struct,
# independently of the Go writer so that reading them tests the reader
# against another implementation. Run: python3 make_fixtures.py
import base64, json, struct, zlib

def chunk(typ, data):
    return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xffffffff)

def png(extra):
    # 2x3 grey 8-bit greyscale image
    ihdr = struct.pack(">IIBBBBB", 2, 3, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(3))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + b"".join(extra) + chunk(b"IEND", b""))

def b64(obj):
    return base64.b64encode(json.dumps(obj, ensure_ascii=False).encode()).decode("ascii").encode()

book = {
    "name": "Ashford lore", "description": "", "scan_depth": 4, "token_budget": 512,
    "recursive_scanning": False, "extensions": {},
    "entries": [
        {"keys": ["Bram", "the smith"], "content": "Bram is Ashford's blacksmith; he owes the miller a debt.",
         "extensions": {}, "enabled": True, "insertion_order": 10, "case_sensitive": False,
         "name": "Bram", "priority": 5, "id": 1, "comment": "the smith", "selective": False,
         "secondary_keys": [], "constant": False, "position": "before_char"},
        {"keys": [], "content": "Ashford is a mill town on the river Ley.", "extensions": {},
         "enabled": True, "insertion_order": 0, "constant": True, "comment": "World"},
        {"keys": ["Iron Gate", "x"], "content": "The Iron Gate is the old fort's entrance.",
         "extensions": {}, "enabled": False, "insertion_order": 20},
    ],
}

v2 = {
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {
        "name": "Ysolde", "description": "A blacksmith's daughter with a silver key.",
        "personality": "Wry, brave, impatient.", "scenario": "Ashford, the night of the flood.",
        "first_mes": "*Ysolde looks up from the anvil.* You're late.",
        "mes_example": "<START>\n{{user}}: Hello\n{{char}}: Hm.", "creator_notes": "Test card.",
        "system_prompt": "", "post_history_instructions": "", "alternate_greetings": ["Back again?"],
        "character_book": book, "tags": ["fantasy", "smith"], "creator": "brightdawn tests",
        "character_version": "1.0", "extensions": {},
    },
}

v3 = json.loads(json.dumps(v2))
v3["spec"], v3["spec_version"] = "chara_card_v3", "3.0"
v3["data"]["name"] = "Ysolde of Ashford"
v3["data"]["nickname"] = "Yso"
v3["data"]["group_only_greetings"] = []
v3["data"]["creation_date"] = 1733000000
v3["data"]["modification_date"] = 1733000000
v3["data"]["assets"] = [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]
for e in v3["data"]["character_book"]["entries"]:
    e["use_regex"] = False

with open("v2.json", "w") as f:
    json.dump(v2, f, indent=2, ensure_ascii=False)
with open("v2.png", "wb") as f:
    f.write(png([chunk(b"tEXt", b"chara\x00" + b64(v2))]))
# V3 as writers emit it: a V2 copy in "chara" and the V3 card in "ccv3",
# here a compressed iTXt so that path is read from a real file too.
with open("v3.png", "wb") as f:
    f.write(png([chunk(b"tEXt", b"chara\x00" + b64(v2)),
                 chunk(b"iTXt", b"ccv3\x00\x01\x00\x00\x00" + zlib.compress(b64(v3)))]))
