#!/usr/bin/env bash
# The scripted review session shown in docs/api.md: run it against a fresh copy of the
# demo library. Usage: docs/api-session.sh LIBRARY_DIR [PORT]
# It starts `evident serve` on 127.0.0.1, drives a full lifecycle with curl, and stops it.
set -euo pipefail
export EVIDENT_LIBRARY="$1"
PORT="${2:-8765}"
API="http://127.0.0.1:$PORT/api/v1"
show() { printf '\n$ %s\n' "$*"; }

show evident users create --admin admin
CREATED=$(evident users create --admin admin)
echo "$CREATED" | sed -E '$ s/^(.{6}).*/\1…/'
ADMIN=$(echo "$CREATED" | tail -1)

evident serve --port "$PORT" > "$EVIDENT_LIBRARY/../serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
until curl -sf "$API/health" > /dev/null; do sleep 0.5; done

show curl -s $API/health
curl -s "$API/health" | jq -c .

for who in ann:author bob:reviewer eve:editor rita:reader; do
  name=${who%%:*}; role=${who##*:}
  show curl -s -X POST $API/users -H "Authorization: Bearer \$ADMIN" -d "{\"name\": \"$name\", \"role\": \"$role\"}"
  made=$(curl -s -X POST "$API/users" -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/json' -d "{\"name\": \"$name\", \"role\": \"$role\"}")
  echo "$made" | jq -c '.token |= .[0:6] + "…"'
  declare "TOKEN_${name^^}=$(echo "$made" | jq -r .token)"
done

Q="What is the treatment for soft tissue calcifications near the metatarsal head?"
show curl -s -X POST $API/ask -H "Authorization: Bearer \$TOKEN_ANN" -d "{\"question\": \"$Q\", \"save\": true}"
ANSWER=$(curl -s -X POST "$API/ask" -H "Authorization: Bearer $TOKEN_ANN" \
  -H 'Content-Type: application/json' -d "{\"question\": \"$Q\", \"save\": true}")
echo "$ANSWER" | jq '{source, article_id: .info.article_id, status: .info.status,
  status_label: .article.status_label, title: .article.title,
  bottom_line: .article.bottom_line[0].text, first_section: .article.sections[0].heading,
  s1: [.article.sections[0].statements[].text]}'
ID=$(echo "$ANSWER" | jq -r .info.article_id)

act() {  # act ACTION TOKEN_NAME [COMMENT]
  local token_var="TOKEN_${2^^}"
  show curl -s -X POST $API/articles/\$ID/$1 -H "Authorization: Bearer \$TOKEN_${2^^}" -d "{\"comment\": \"${3:-}\"}"
  curl -s -X POST "$API/articles/$ID/$1" -H "Authorization: Bearer ${!token_var}" \
    -H 'Content-Type: application/json' -d "{\"comment\": \"${3:-}\"}" \
    | jq -c '{article_id, status, status_label, reviewer, reviewed_by, revision} + (if .ok == false then . else {} end)'
}

act approve bob "looks right"
act submit ann "ready for review"
act claim bob

show curl -s -X POST $API/articles/\$ID/comments -H "Authorization: Bearer \$TOKEN_BOB" -d '{"target": "s1.2", "comment": "..."}'
curl -s -X POST "$API/articles/$ID/comments" -H "Authorization: Bearer $TOKEN_BOB" \
  -H 'Content-Type: application/json' \
  -d '{"target": "s1.2", "comment": "Keep to what CT shows; the myositis ossificans detail belongs elsewhere."}' | jq -c .

EDIT='{"target": "s1.2", "text": "Computed tomography is the best test for every calcified foot lesion."}'
show curl -s -X POST $API/articles/\$ID/edits -H "Authorization: Bearer \$TOKEN_BOB" -d "'$EDIT'"
curl -s -X POST "$API/articles/$ID/edits" -H "Authorization: Bearer $TOKEN_BOB" \
  -H 'Content-Type: application/json' -d "$EDIT" | jq -c .

EDIT='{"target": "s1.2", "text": "Computed tomography shows the pattern of calcification or ossification in a soft-tissue mass of the leg more clearly than radiographs.", "note": "trimmed to the point"}'
show curl -s -X POST $API/articles/\$ID/edits -H "Authorization: Bearer \$TOKEN_BOB" -d "'$EDIT'"
curl -s -X POST "$API/articles/$ID/edits" -H "Authorization: Bearer $TOKEN_BOB" \
  -H 'Content-Type: application/json' -d "$EDIT" | jq -c .info

EDIT='{"target": "s1.1", "delete": true, "note": "phleboliths are off topic for this question"}'
show curl -s -X POST $API/articles/\$ID/edits -H "Authorization: Bearer \$TOKEN_BOB" -d "'$EDIT'"
curl -s -X POST "$API/articles/$ID/edits" -H "Authorization: Bearer $TOKEN_BOB" \
  -H 'Content-Type: application/json' -d "$EDIT" | jq -c .info

show curl -s "$API/articles/\$ID/diff?from=1&to=3" -H "Authorization: Bearer \$TOKEN_BOB"
curl -s "$API/articles/$ID/diff?from=1&to=3" -H "Authorization: Bearer $TOKEN_BOB" | jq -r .diff

act approve bob "checked every citation against its passage"
act publish bob
act publish eve

Q2="How do you treat soft tissue calcification at the metatarsal head?"
show curl -s -X POST $API/ask -H "Authorization: Bearer \$TOKEN_RITA" -d "{\"question\": \"$Q2\"}"
curl -s -X POST "$API/ask" -H "Authorization: Bearer $TOKEN_RITA" \
  -H 'Content-Type: application/json' -d "{\"question\": \"$Q2\"}" \
  | jq '{source, similarity, article_id: .info.article_id, status_label: .article.status_label,
    reviewed_by: .info.reviewed_by, reviewed_at: .info.reviewed_at, revision: .info.revision,
    s1: [.article.sections[0].statements[].text]}'

show curl -s $API/articles/\$ID/events -H "Authorization: Bearer \$TOKEN_EVE"
curl -s "$API/articles/$ID/events" -H "Authorization: Bearer $TOKEN_EVE" \
  | jq -r '.items[] | "\(.created_at[0:19]) \(.actor) \(.action) \(.target) \(.from_status // "")→\(.to_status // "") \(.comment)"'

show curl -s $API/articles -H "Authorization: Bearer \$TOKEN_RITA"
curl -s "$API/articles" -H "Authorization: Bearer $TOKEN_RITA" | jq -c '.items[] | {article_id, status, reviewed_by, question}'
show curl -s $API/articles
curl -s "$API/articles" | jq -c .
