from servicekit.settings import ServiceSettings


class LeadsSettings(ServiceSettings):
    service_name: str = "leads"
    port: int = 8101
    database_url: str = "sqlite+aiosqlite:///./var/data/leads.db"
