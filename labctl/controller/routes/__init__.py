# One APIRouter per resource of the controller API.
