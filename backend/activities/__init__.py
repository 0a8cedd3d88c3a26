"""代表活动: activities the office or a station organises, deputies invited, answering, checked in."""
