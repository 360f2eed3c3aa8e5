# Shared by the bench/*_accuracy.sh scripts (sourced, not run): a case is
# MODEL or MODEL:OPTIONS, where OPTIONS are `neurtl compile` options
# (`tests/models/tiny.json:--pipeline none`).

# case_split CASE OUT_DIR: sets `model`, `opts`, `name` (the model's file
# name without extension, or its folder's for a `model.json`) and `dir`
# (OUT_DIR/<name><options without spaces and dashes>).
case_split() {
    model=${1%%:*}
    opts=""
    [ "$model" != "$1" ] && opts=${1#*:}
    name=$(basename "$model"); name=${name%.*}
    [ "$name" = model ] && name=$(basename "$(dirname "$model")")
    dir="$2/$name$(echo "$opts" | tr -d ' -')"
}

# num FILE KEY: the first number after "KEY": in a JSON file
num() {
    grep -o "\"$2\": [0-9.]*" "$1" | head -1 | grep -o '[0-9.]*$'
}
