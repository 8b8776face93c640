# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the sessions of noxfile.py share, each in a short module of its own.

``collection``  the copy of the collection ansible-test runs in, and the built tarball;
``emulator``    the API emulator, started fresh for a session and always stopped;
``machine``     what the machine must have: Python interpreters, ansible-test's offline pip
                bootstrap, and the Debian packages (redis-server, Java) some tests need.

Standard library only: nox imports these before any session venv exists.
"""
