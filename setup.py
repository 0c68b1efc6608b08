"""lobbygate: open software for the lobby and gates of a residential compound."""

from setuptools import find_packages, setup

setup(
    name="lobbygate",
    version="0.1.0",
    description="Door access, intercom, goods passes, key cabinet, patrol and meters for a "
                "residential compound: Raspberry Pi nodes, MQTT, a Flask console.",
    python_requires=">=3.11",
    packages=find_packages(include=["mqtt_topics*", "hardware*", "edge*", "web*", "firmware*",
                                    "lobbygate*"]),
    package_data={
        "mqtt_topics": ["TOPICS.md"],
        "hardware": ["profiles/*.toml", "meters/*.toml"],
        "edge": ["samples/*.toml"],
        "web": ["templates/**/*.html", "templates/*.html", "static/*", "static/**/*",
                "translations/*/LC_MESSAGES/*.po", "translations/*/LC_MESSAGES/*.mo"],
        "firmware": ["systemd/*", "udev/*", "boot/*", "mosquitto/*", "*.sh", "README.md"],
    },
    install_requires=[
        "paho-mqtt>=2.1,<3",
        "gpiozero>=2.0,<3",
        "pyserial>=3.5,<4",
        "pymodbus==3.8.6",
        "flask>=3.0,<4",
        "flask-babel>=4.0,<5",
        "flask-wtf>=1.2,<2",
        "wtforms>=3.3,<4",  # SelectChoice (choices as tuples are deprecated from 3.3)
        "waitress>=3.0,<4",
        "tinydb>=4.8,<5",
        "cryptography>=42",
        "segno>=1.6,<2",
    ],
    extras_require={
        "test": ["pytest>=8", "playwright>=1.40"],
    },
    entry_points={"console_scripts": ["lobbygate = lobbygate.cli:main"]},
)
