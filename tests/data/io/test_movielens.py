"""MovieLens folders (100K, 1M, latest) with genres as categories."""

from __future__ import annotations

import gzip

import pytest
from xcat.data.io import read_movielens


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def ml100k(d):
    d.mkdir()
    write(d / "u.data", "1\t10\t4\t881250949\n2\t10\t3\t881250950\n2\t11\t5\t881250951\n")
    genres = [
        "unknown",
        "Action",
        "Adventure",
        "Animation",
        "Children's",
        "Comedy",
        "Crime",
        "Documentary",
        "Drama",
        "Fantasy",
        "Film-Noir",
        "Horror",
        "Musical",
        "Mystery",
        "Romance",
        "Sci-Fi",
        "Thriller",
        "War",
        "Western",
    ]
    write(d / "u.genre", "".join(f"{g}|{i}\n" for i, g in enumerate(genres)) + "\n")
    flags10 = ["0"] * 19
    flags10[3] = flags10[4] = flags10[5] = "1"  # Animation, Children's, Comedy
    flags11 = ["0"] * 19
    flags11[1] = "1"  # Action
    (d / "u.item").write_bytes(
        (
            "10|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(flags10) + "\n"
            "11|Caf\xe9 (1996)|01-Jan-1996||http://y|" + "|".join(flags11) + "\n"
        ).encode("latin-1")
    )
    return d


def test_movielens_100k_genres_as_categories(tmp_path):
    inter = read_movielens(ml100k(tmp_path / "ml-100k"))
    assert inter.data["category"].tolist() == ["Animation", "Animation", "Action"]
    assert inter.items.loc[10, "genres"] == ["Animation", "Children's", "Comedy"]
    assert inter.items.loc[11, "title"] == "Caf\xe9 (1996)"
    assert inter.report.steps == ()
    exploded = read_movielens(tmp_path / "ml-100k", genres="explode")
    assert len(exploded) == 3 + 3 + 1
    assert sorted(exploded.data.loc[exploded.data["user"] == 1, "category"]) == [
        "Animation",
        "Children's",
        "Comedy",
    ]
    (step,) = exploded.report.steps
    assert (step.rows_before, step.rows_after, step.rows_removed) == (3, 7, -4)
    assert "4 rows added" in str(exploded.report)


def test_movielens_1m_and_latest(tmp_path):
    d = tmp_path / "ml-1m"
    d.mkdir()
    write(d / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
    (d / "movies.dat").write_bytes(
        "1193::One Flew (1975)::Drama\n661::James (1996)::Animation|Children's|Musical\n".encode(
            "latin-1"
        )
    )
    inter = read_movielens(d)
    assert inter.data[["user", "item", "category"]].values.tolist() == [
        [1, 1193, "Drama"],
        [1, 661, "Animation"],
    ]
    d = tmp_path / "ml-latest-small"
    d.mkdir()
    write(
        d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n"
    )
    write(
        d / "movies.csv",
        'movieId,title,genres\n1,"Toy Story (1995)",Adventure|Animation\n'
        "2,Jumanji (1995),(no genres listed)\n",
    )
    inter = read_movielens(d)
    assert inter.data["category"].tolist() == ["Adventure", "(no genres listed)"]
    assert inter.data["rating"].tolist() == [4.0, 3.5]


def test_movielens_unknown_movie_is_counted(tmp_path):
    d = tmp_path / "ml"
    d.mkdir()
    write(d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,9,3.0,2\n1,9,3.0,3\n")
    write(d / "movies.csv", "movieId,title,genres\n1,A,Drama\n")
    with pytest.raises(
        ValueError, match="2 ratings refer to 1 movies that are not in the movie file"
    ):
        read_movielens(d)
