"""What an admin's slips at the command line get: a clear message and the right exit code, no traceback, no
store made where none was meant."""
from __future__ import annotations

from click.testing import CliRunner

from deflect.cli import cli


def test_a_database_url_that_is_no_postgresql_url_is_refused_not_made_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["keys", "create", "--name", "cms", "--database",
                                 "postgresq://deflect:S3cret@db.example/deflect"])
    assert r.exit_code == 1 and "is no PostgreSQL URL" in r.output and "S3cret" not in r.output
    assert list(tmp_path.iterdir()) == []   # no SQLite store named after the URL, password and all


def test_a_home_that_is_a_file_a_bad_count_and_a_bad_env_file_are_told_plainly(tmp_path):
    runner = CliRunner()
    (tmp_path / "afile").write_text("x")
    r = runner.invoke(cli, ["keys", "list"], env={"DEFLECT_HOME": str(tmp_path / "afile")})
    assert r.exit_code == 1 and "is a file, not a folder" in r.output and r.exception.__class__ is SystemExit
    # a home that cannot be made (here: below a file; a read-only mount alike)
    r = runner.invoke(cli, ["ingest", str(tmp_path / "afile"), "--home", str(tmp_path / "afile" / "home")])
    assert r.exit_code == 1 and "cannot be made" in r.output and r.exception.__class__ is SystemExit
    r = runner.invoke(cli, ["suggest", "-k", "0", "Abo kündigen", "--home", str(tmp_path)])
    assert r.exit_code == 2   # no answer shown for nothing asked, nothing logged
    env = tmp_path / "deflect.env"
    env.write_bytes("DEFLECT_DRAFT_SIGNATURE=Ihr Kundenservice Müller\n".encode("latin-1"))
    r = runner.invoke(cli, ["--env-file", str(env), "status", "--home", str(tmp_path)])
    assert r.exit_code == 1 and "is not UTF-8 text" in r.output and "iconv" in r.output


def test_read_only_commands_make_no_store_in_a_mistyped_home(tmp_path):
    runner = CliRunner()
    for command in (["incidents"], ["feedback", "list"], ["connectors"]):
        r = runner.invoke(cli, [*command, "--home", str(tmp_path / "nothere")])
        assert r.exit_code == 1 and "no deflect data here" in r.output, command
    assert not (tmp_path / "nothere" / "deflect.db").exists()


def test_serve_on_a_mistyped_home_makes_no_folder_and_a_key_there_is_told(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["serve", "--home", str(tmp_path / "typo"), "--port", "1"])
    assert r.exit_code == 1 and "no index in" in r.output and not (tmp_path / "typo").exists()
    r = runner.invoke(cli, ["serve", "--snapshots", str(tmp_path / "snapshots"), "--home", str(tmp_path / "typo")])
    assert r.exit_code == 1 and "no deflect data in" in r.output and not (tmp_path / "typo").exists()
    r = runner.invoke(cli, ["keys", "create", "--name", "cms", "--home", str(tmp_path / "typo")])
    assert r.exit_code == 0 and "no deflect data was at" in r.output and "is --home right?" in r.output


def test_serve_takes_the_home_of_its_env_file(tmp_path, monkeypatch):
    """`deflect serve --env-file /etc/deflect/deflect.env` from any folder serves the file's home, as every
    other command given the file does."""
    monkeypatch.setenv("DEFLECT_HOME", str(tmp_path / "from-environment"))   # the file wins, as for the others
    monkeypatch.chdir(tmp_path)
    env = tmp_path / "deflect.env"
    env.write_text(f"DEFLECT_HOME={tmp_path / 'service-home'}\n")
    r = CliRunner().invoke(cli, ["serve", "--env-file", str(env), "--port", "1"])
    assert r.exit_code == 1 and f"no index in {tmp_path / 'service-home'}" in r.output, r.output
    r = CliRunner().invoke(cli, ["serve", "--env-file", str(env), "--home", str(tmp_path / "given"), "--port", "1"])
    assert f"no index in {tmp_path / 'given'}" in r.output   # an option still wins


def test_a_report_that_cannot_be_written_is_told_without_a_traceback(demo_home):
    r = CliRunner().invoke(cli, ["gaps", "--format", "csv", "-o", "/nonexistent/dir/gaps.csv",
                                 "--home", str(demo_home)])
    assert r.exit_code == 1 and "cannot write /nonexistent/dir/gaps.csv" in r.output
